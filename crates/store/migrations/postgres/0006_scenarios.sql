-- The bot's button scenario per channel, and clicks counted per node.
ALTER TABLE channels ADD COLUMN scenario TEXT NOT NULL DEFAULT '{"nodes":[]}';
CREATE TABLE scenario_clicks (
    channel_id TEXT NOT NULL REFERENCES channels(id),
    node_id TEXT NOT NULL,
    clicks BIGINT NOT NULL,
    PRIMARY KEY (channel_id, node_id)
);
