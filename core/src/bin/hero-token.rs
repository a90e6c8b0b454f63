//! Prints a development JWT signed with the local secret (`make token`).
//!
//! Usage: `hero-token --user ana [--name "Ana"] [--role member] [--workspace demo] [--hours 12]`
//! The secret is read from `JWT_SECRET` in the environment, else from `.dev.vars`.

use std::process::ExitCode;

use chrono::{DateTime, Duration};
use hero_core::auth::{sign_dev_token, DevTokenRequest, Role};

fn secret_from_dev_vars() -> Option<String> {
    let text = std::fs::read_to_string(".dev.vars").ok()?;
    text.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "JWT_SECRET").then(|| value.trim().trim_matches('"').to_owned())
    })
}

fn run() -> Result<String, String> {
    let mut user = None;
    let mut name = None;
    let mut role = Role::Member;
    let mut workspace = "demo".to_owned();
    let mut hours = 12;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--user" => user = Some(value()?),
            "--name" => name = Some(value()?),
            "--workspace" => workspace = value()?,
            "--role" => {
                let raw = value()?;
                role = Role::parse(&raw)
                    .ok_or(format!("unknown role {raw:?}: viewer, member or admin"))?;
            }
            "--hours" => hours = value()?.parse().map_err(|_| "--hours must be a number")?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let user = user
        .filter(|u| !u.trim().is_empty())
        .ok_or("--user is required (make token USER=ana)")?;
    let secret = std::env::var("JWT_SECRET")
        .ok()
        .or_else(secret_from_dev_vars)
        .ok_or("no JWT_SECRET: run `make setup` to create .dev.vars")?;
    let request = DevTokenRequest {
        name: name.unwrap_or_else(|| user.clone()),
        user_id: user,
        workspace_id: workspace,
        role,
        ttl: Duration::hours(hours),
    };
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| "the system clock is before 1970")?;
    let now = DateTime::from_timestamp(unix.as_secs() as i64, 0).ok_or("clock out of range")?;
    Ok(sign_dev_token(secret.as_bytes(), &request, now))
}

fn main() -> ExitCode {
    match run() {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("hero-token: {message}");
            ExitCode::FAILURE
        }
    }
}
