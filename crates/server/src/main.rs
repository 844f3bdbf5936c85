//! The `madoguchi` binary.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match madoguchi_server::cli::run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
