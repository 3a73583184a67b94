//! systemd's readiness protocol (`Type=notify` in `config/assetark.service`): `READY=1` once
//! the control socket is bound and served, `STOPPING=1` when shutdown begins. Outside
//! systemd (`NOTIFY_SOCKET` unset) both do nothing; a failure to notify is logged, never
//! fatal (systemd then times the start out and says why).

use sd_notify::NotifyState;

/// Tells systemd the daemon is ready.
pub(super) fn ready() {
    send(
        &[NotifyState::Ready, NotifyState::Status("serving")],
        "READY=1",
    );
}

/// Tells systemd the daemon is stopping.
pub(super) fn stopping() {
    send(
        &[NotifyState::Stopping, NotifyState::Status("draining jobs")],
        "STOPPING=1",
    );
}

fn send(states: &[NotifyState<'_>], what: &str) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    match sd_notify::notify(false, states) {
        Ok(()) => tracing::debug!(state = what, "Told systemd."),
        Err(e) => tracing::warn!(state = what, error = %e, "Telling systemd failed."),
    }
}
