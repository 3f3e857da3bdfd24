package watch

import "github.com/buttctl/buttctl/ops/audit"

// Actions watch takes, as the audit log names them.
const (
	// ActionKill stops an unhealthy pub's container (SIGTERM, then SIGKILL
	// after watch.stop_timeout); a heal follows.
	ActionKill = "kill"
	// ActionStart starts a pub's stopped container.
	ActionStart = "start"
	// ActionRecreate removes a pub's container and creates it again from
	// the inventory, on the same data volume (same identity), and starts it.
	ActionRecreate = "recreate"
	// ActionRestore creates a pub whose data volume is gone from the
	// identity watch keeps (its secret), on its hub, and starts it.
	ActionRestore = "restore"
	// ActionQuarantine stops healing a crash-looping pub (and stops its
	// container if its engine keeps restarting it); it is retried every
	// backoff.max until it stays healthy for backoff.reset_after.
	ActionQuarantine = "quarantine"
	// ActionRecover: a quarantined pub stayed healthy and leaves quarantine.
	ActionRecover = "recover"
	// ActionStopStale stops a copy of a pub running on a hub the inventory
	// does not place it on (never two live copies of one identity).
	ActionStopStale = "stop-stale"
	// ActionRemoveStale removes the container of such a copy, stopped,
	// keeping its data volume: a stopped copy could be started again, and
	// would block the pub's next reallocation (never two copies).
	ActionRemoveStale = "remove-stale"
	// ActionRecordIdentity keeps a pub's secret in the local identity store.
	ActionRecordIdentity = "record-identity"
	// ActionHubDown: a hub was unreachable for watch.hub_down_after.
	ActionHubDown = "hub-down"
	// ActionHubUp: a hub marked down answers again.
	ActionHubUp = "hub-up"
	// ActionReboot hard-reboots a down hub's server through the cloud.
	ActionReboot = "reboot"
	// ActionReallocate recreates a down hub's pub on another hub, from the
	// identity watch keeps, and places it there in the inventory.
	ActionReallocate = "reallocate"
)

// Results of actions, as the audit log names them.
const (
	ResultOK     = audit.ResultOK
	ResultFailed = audit.ResultFailed
	// ResultDryRun: --dry-run; nothing was done.
	ResultDryRun = audit.ResultDryRun
	// ResultSkipped: the action was not needed or not possible (see the error).
	ResultSkipped = audit.ResultSkipped
)

// Reasons for actions and for waiting, as the audit log and watch's state
// name them.
const (
	// ReasonUnhealthy: failing its health check for longer than watch.unhealthy_grace.
	ReasonUnhealthy = "unhealthy"
	// ReasonExited: its container exited (or died) though the inventory wants it running.
	ReasonExited = "exited"
	// ReasonOOM: its container was killed for running out of memory.
	ReasonOOM = "oom-killed"
	// ReasonMissing: its container is gone (its data volume is not).
	ReasonMissing = "missing"
	// ReasonNeverStarted: its container was created and never started, by
	// a creator that is gone (a buttctl killed mid-restore, say).
	ReasonNeverStarted = "never-started"
	// ReasonVolumeLost: its container and its data volume are gone.
	ReasonVolumeLost = "volume-lost"
	// ReasonStillFailing: it kept failing after being started: recreate.
	ReasonStillFailing = "still-failing"
	// ReasonCrashLoop: too many restarts within watch.crash_loop.window.
	ReasonCrashLoop = "crash-loop"
	// ReasonRetryAtCap: a quarantined pub's retry, every backoff.max.
	ReasonRetryAtCap = "retry-at-cap"
	// ReasonBackoff: waiting out the pub's backoff before the next heal.
	ReasonBackoff = "backoff"
	// ReasonStayedHealthy: healthy for backoff.reset_after.
	ReasonStayedHealthy = "stayed-healthy"
	// ReasonStaleCopy: the inventory places the pub on another hub.
	ReasonStaleCopy = "stale-copy"
	// ReasonFirstSeen / ReasonChanged: why an identity was recorded.
	ReasonFirstSeen = "first-seen"
	ReasonChanged   = "changed"
	// ReasonHubUnreachable: its SSH connection or Docker engine did not answer.
	ReasonHubUnreachable = "hub-unreachable"
	// ReasonHubAnswers: a down hub's engine answers again.
	ReasonHubAnswers = "hub-answers"
	// ReasonHubDown: the pub's hub is down.
	ReasonHubDown = "hub-down"
)
