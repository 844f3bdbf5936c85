//! The permission matrix over HTTP and WebSocket: every role (owner, admin, supervisor, agent,
//! analyst) calls one endpoint of every permission, and is refused (403) exactly where the
//! role table in `madoguchi_core::permissions` says so. Beside that derived table, the
//! critical cells are written out by hand, so a wrong table cannot pass its own test.

use madoguchi_core::agent::Role;
use madoguchi_core::permissions::{allows, Permission, MATRIX, ROLES};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{both_backends, next_frame, send_frame, Agent, TestApp};

both_backends!(every_role_may_do_what_the_matrix_says_and_no_more);

/// What one permission's probe calls.
struct Probe {
    method: Method,
    path: String,
    body: Option<Value>,
}

impl Probe {
    fn new(method: Method, path: impl Into<String>, body: Option<Value>) -> Self {
        Self {
            method,
            path: path.into(),
            body,
        }
    }

    async fn status(&self, app: &TestApp, agent: &Agent) -> StatusCode {
        let mut request = app
            .http
            .request(self.method.clone(), format!("{}{}", app.url, self.path))
            .bearer_auth(&agent.token);
        if let Some(body) = &self.body {
            request = request.json(body);
        }
        request.send().await.unwrap().status()
    }
}

async fn every_role_may_do_what_the_matrix_says_and_no_more(app: TestApp) {
    let ws = app.workspace_id.clone();
    let mut people = Vec::new();
    for role in ROLES {
        let email = format!("{}@example.jp", role.as_str());
        people.push((role, app.agent_in(&ws, &email, role).await));
    }
    let owner = &people[0].1;
    let colleague = app.agent_in(&ws, "colleague@example.jp", Role::Agent).await;
    // A conversation of a team nobody below is in, in a workspace that limits agents to theirs.
    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "注文の件で相談です").await;
    let contact = app.contact_of(&visitor).await;
    let team: Value = app
        .post("/api/v1/teams", &json!({"name": "配送"}))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    app.patch(
        &format!("/api/v1/conversations/{conversation}"),
        &json!({"team_id": team["id"]}),
    )
    .bearer_auth(&owner.token)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    let messages = app
        .get_json(
            owner,
            &format!("/api/v1/conversations/{conversation}/messages"),
        )
        .await;
    let message = messages["messages"][0]["id"].as_str().unwrap().to_owned();
    let masking = json!({"card": true, "my_number": true, "password": true});

    let probe = |permission: Permission| -> Option<Probe> {
        let p = match permission {
            Permission::ReadInbox => Probe::new(Method::GET, "/api/v1/conversations", None),
            Permission::Answer => Probe::new(
                Method::POST,
                format!("/api/v1/conversations/{conversation}/read"),
                Some(json!({"seq": 1})),
            ),
            Permission::RevealMasked => Probe::new(
                Method::POST,
                format!("/api/v1/messages/{message}/reveal"),
                None,
            ),
            Permission::HandleHarassment => {
                Probe::new(Method::GET, "/api/v1/harassment/reviews", None)
            }
            Permission::ReadReports => Probe::new(Method::GET, "/api/v1/reports/kpis", None),
            Permission::EditKnowledge => Probe::new(
                Method::POST,
                "/api/v1/tags",
                Some(json!({"name": format!("tag-{}", madoguchi_store::new_id())})),
            ),
            Permission::ChangeSettings => Probe::new(
                Method::PUT,
                "/api/v1/privacy/masking",
                Some(masking.clone()),
            ),
            Permission::ManageAgents => Probe::new(
                Method::POST,
                format!("/api/v1/agents/{}/enable", colleague.id),
                None,
            ),
            Permission::ExportData => Probe::new(
                Method::GET,
                format!("/api/v1/contacts/{contact}/export"),
                None,
            ),
            // Nobody there to erase: allowed is 404, refused 403.
            Permission::EraseData => Probe::new(
                Method::DELETE,
                format!("/api/v1/contacts/{}", madoguchi_store::new_id()),
                None,
            ),
            Permission::ReadAudit => Probe::new(Method::GET, "/api/v1/audit", None),
            // Rules inside endpoints, probed below.
            Permission::SeeAllTeams | Permission::ManageOwners => return None,
        };
        Some(p)
    };

    // The table, derived from the core's.
    for (permission, _) in MATRIX {
        let Some(probe) = probe(permission) else {
            continue;
        };
        for (role, agent) in &people {
            let status = probe.status(&app, agent).await;
            if allows(*role, permission) {
                assert!(
                    status != StatusCode::FORBIDDEN && status.as_u16() < 500,
                    "{role} {permission}: {status}"
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{role} {permission}");
            }
        }
    }
    app.http
        .put(format!("{}/api/v1/routing/settings", app.url))
        .bearer_auth(&owner.token)
        .json(&json!({"agent_scope": "teams"}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let read = Probe::new(
        Method::GET,
        format!("/api/v1/conversations/{conversation}"),
        None,
    );
    for (role, agent) in &people {
        let status = read.status(&app, agent).await;
        let sees = allows(*role, Permission::SeeAllTeams);
        assert_eq!(
            status,
            if sees {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            },
            "{role} sees another team's conversation"
        );
    }

    // The critical cells, by hand.
    let by = |role: Role| &people.iter().find(|(r, _)| *r == role).unwrap().1;
    let reply = Probe::new(
        Method::POST,
        format!("/api/v1/conversations/{conversation}/messages"),
        Some(json!({"body": "確認します"})),
    );
    assert_eq!(
        reply.status(&app, by(Role::Analyst)).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        reply.status(&app, by(Role::Supervisor)).await,
        StatusCode::CREATED
    );
    let settings = Probe::new(Method::PUT, "/api/v1/privacy/masking", Some(masking));
    assert_eq!(
        settings.status(&app, by(Role::Supervisor)).await,
        StatusCode::FORBIDDEN
    );
    let erase = Probe::new(Method::DELETE, format!("/api/v1/contacts/{contact}"), None);
    assert_eq!(
        erase.status(&app, by(Role::Agent)).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        erase.status(&app, by(Role::Supervisor)).await,
        StatusCode::FORBIDDEN
    );
    let reports = Probe::new(Method::GET, "/api/v1/reports/kpis", None);
    assert_eq!(
        reports.status(&app, by(Role::Agent)).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        reports.status(&app, by(Role::Analyst)).await,
        StatusCode::OK
    );
    let audit = Probe::new(Method::GET, "/api/v1/audit", None);
    assert_eq!(
        audit.status(&app, by(Role::Agent)).await,
        StatusCode::FORBIDDEN
    );
    // Only an owner makes an owner or touches one.
    let new_owner = |email: &str| {
        Probe::new(
            Method::POST,
            "/api/v1/agents",
            Some(
                json!({"email": email, "password": "password-123", "name": "店主", "role": "owner"}),
            ),
        )
    };
    assert_eq!(
        new_owner("second@example.jp")
            .status(&app, by(Role::Admin))
            .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        new_owner("second@example.jp").status(&app, owner).await,
        StatusCode::CREATED
    );
    let disable_owner = Probe::new(
        Method::POST,
        format!("/api/v1/agents/{}/disable", owner.id),
        None,
    );
    assert_eq!(
        disable_owner.status(&app, by(Role::Admin)).await,
        StatusCode::FORBIDDEN
    );

    // Over the WebSocket: everyone watches, an analyst may not type; an agent may.
    let mut analyst = app.agent_ws(by(Role::Analyst), "").await;
    send_frame(
        &mut analyst,
        json!({"type": "typing", "conversation_id": conversation}),
    )
    .await;
    let refused = next_frame(&mut analyst).await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["error"]["code"], "forbidden", "{refused}");
    let mut supervisor = app.agent_ws(by(Role::Supervisor), "").await;
    let mut visitor_ws = app.visitor_ws(&visitor, "").await;
    send_frame(
        &mut supervisor,
        json!({"type": "typing", "conversation_id": conversation}),
    )
    .await;
    let typing = next_frame(&mut visitor_ws).await;
    assert_eq!(typing["type"], "typing", "{typing}");
}
