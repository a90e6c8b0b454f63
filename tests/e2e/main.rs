//! End-to-end suite: the real `wrangler dev` (workerd, local D1), driven over HTTP.
//!
//! One binary, one server: `main` starts the dev server once on a free loopback port with a
//! fresh state directory, runs every test against it (each in its own workspace, so they can
//! run in parallel), then stops it. Output and exit code follow `cargo test`.

mod browser;
mod hardening;
mod helpers;
mod logs;
mod rest;
mod rooms;
mod schema;
mod soak;

use std::future::Future;
use std::pin::Pin;
use std::sync::{OnceLock, RwLock};

use libtest_mimic::{Arguments, Trial};

use helpers::Server;

/// What every test gets: the server under test and a runtime to drive clients on.
pub struct Ctx {
    pub server: Server,
    pub runtime: tokio::runtime::Runtime,
}

static CTX: OnceLock<Ctx> = OnceLock::new();

/// Tests share the server; the few that restart it hold this exclusively.
static SERVER_GATE: RwLock<()> = RwLock::new(());

type TestFn = fn(&'static Ctx) -> Pin<Box<dyn Future<Output = ()> + Send>>;

fn ctx() -> &'static Ctx {
    CTX.get_or_init(|| Ctx {
        server: Server::start(),
        runtime: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime"),
    })
}

fn trial(name: &'static str, test: TestFn, exclusive: bool) -> Trial {
    Trial::test(name, move || {
        let ctx = ctx();
        // A failed test poisons the lock; the others still run.
        if exclusive {
            let _gate = SERVER_GATE.write().unwrap_or_else(|p| p.into_inner());
            ctx.runtime.block_on(test(ctx));
        } else {
            let _gate = SERVER_GATE.read().unwrap_or_else(|p| p.into_inner());
            ctx.runtime.block_on(test(ctx));
        }
        Ok(())
    })
}

macro_rules! tests {
    ($($module:ident :: $name:ident),* $(,)?) => {
        vec![$(trial(
            concat!(stringify!($module), "::", stringify!($name)),
            |ctx| Box::pin($module::$name(ctx)),
            false,
        )),*]
    };
}

/// Tests that kill and restart the server: each runs alone.
macro_rules! exclusive_tests {
    ($($module:ident :: $name:ident),* $(,)?) => {
        vec![$(trial(
            concat!(stringify!($module), "::", stringify!($name)),
            |ctx| Box::pin($module::$name(ctx)),
            true,
        )),*]
    };
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = tests![
        rest::health_needs_no_token,
        rest::create_returns_location_and_etag,
        rest::bad_bodies_get_clear_problems,
        rest::validation_names_every_bad_field,
        rest::unknown_routes_and_methods,
        rest::unknown_and_malformed_ids_are_404,
        rest::tokens_are_required_and_verified,
        rest::roles_limit_writes_and_deletes,
        rest::if_match_guards_patch_and_delete,
        rest::concurrent_if_match_writers_one_wins,
        rest::concurrent_writers_without_if_match_all_apply,
        rest::merge_patch_semantics,
        rest::pagination_is_stable_across_pages,
        rest::list_filters,
        rest::workspaces_are_isolated,
        rest::analytics_counts,
        rest::openapi_matches_the_routes,
        rest::dev_sign_in_is_loopback_only,
        logs::a_request_id_ties_the_response_to_worker_and_room_logs,
        logs::rate_limited_clients_leave_a_room_event,
        logs::no_log_line_carries_a_token,
        hardening::forged_and_broken_tokens_are_refused_everywhere,
        hardening::abusive_frames_get_errors_and_bystanders_keep_up,
        hardening::a_flood_is_limited_and_bystanders_keep_up,
        hardening::connection_churn_leaves_presence_right,
        hardening::a_client_that_never_reads_does_not_hold_up_others,
        schema::the_api_matches_its_openapi_document,
        rooms::sockets_are_checked_before_the_upgrade,
        rooms::crud_events_reach_the_room_and_the_board,
        rooms::presence_is_per_user_with_a_grace_period,
        rooms::typing_and_editing_expire,
        rooms::resume_replays_exactly_what_was_missed,
        rooms::resync_when_since_is_too_old_or_ahead,
        rooms::racing_if_match_writers_produce_one_event,
        rooms::viewers_watch_but_cannot_type,
        rooms::an_expiring_token_closes_the_socket_with_4001,
        rooms::bad_frames_get_errors_and_do_not_disturb_others,
        rooms::floods_are_rate_limited_then_closed,
        rooms::the_connection_cap_closes_with_1013,
        rooms::an_idle_room_still_serves_after_hibernation,
        rooms::activity_lists_who_changed_what,
    ];
    // Browser tests run alone: Chromium is heavy on a 2-core machine, and one restarts the
    // server under the page.
    // It writes to the dev server's SQLite file from outside (wrangler d1 execute), which
    // fails with SQLITE_BUSY while other tests are writing.
    trials.extend(exclusive_tests![
        rooms::a_change_committed_without_notification_is_delivered_later,
        rooms::a_restarted_room_still_replays_and_takes_writes,
        hardening::a_crash_mid_stream_loses_no_acknowledged_write,
        browser::two_people_edit_one_task,
        browser::rest_changes_appear_on_the_dashboard,
        browser::hostile_titles_render_as_text,
        browser::the_ui_is_labelled_and_fits_a_phone,
        browser::the_page_reconnects_after_a_server_restart,
    ]);
    // `make soak` only: minutes long, so ignored unless asked for with --ignored.
    trials.extend(
        exclusive_tests![soak::a_thousand_sockets_for_five_minutes]
            .into_iter()
            .map(|trial| trial.with_ignored_flag(true)),
    );
    let conclusion = libtest_mimic::run(&args, trials);
    browser::stop_chromedriver();
    if let Some(ctx) = CTX.get() {
        ctx.server.stop();
    }
    conclusion.exit();
}
