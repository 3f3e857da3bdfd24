package inventory

import "time"

// Built-in defaults, in one place. README.md documents each of them.
const (
	DefaultImage        = "ahdinosaur/ssb-pub"
	DefaultPort         = 8008
	DefaultMemory       = ByteSize(512 << 20)
	DefaultRestart      = "unless-stopped"
	DefaultDockerSocket = "/var/run/docker.sock"
	DefaultSSHPort      = 22

	DefaultUnhealthyGrace    = 30 * time.Second
	DefaultStopTimeout       = 10 * time.Second
	DefaultBackoffInitial    = time.Second
	DefaultBackoffMax        = 5 * time.Minute
	DefaultBackoffResetAfter = 10 * time.Minute
	DefaultHubDownAfter      = 2 * time.Minute
	DefaultReconcile         = time.Minute
	DefaultCrashLoopWindow   = 10 * time.Minute
	DefaultCrashLoopRestarts = 5
)

// applyDefaults fills every field the file left out. A pub inherits image,
// port, memory, restart policy and each health setting it does not set from
// the defaults section, which itself falls back on the built-in values above.
func (inv *Inventory) applyDefaults() {
	d := &inv.Defaults
	setStr(&d.Image, DefaultImage)
	setInt(&d.Port, DefaultPort)
	if d.Memory == 0 {
		d.Memory = DefaultMemory
	}
	setStr(&d.Restart, DefaultRestart)
	setStr(&inv.SSH.HostKeyChecking, HostKeyStrict)
	if inv.Hubs == nil {
		inv.Hubs = []Hub{}
	}
	if inv.Pubs == nil {
		inv.Pubs = []Pub{}
	}
	for i := range inv.Hubs {
		setStr(&inv.Hubs[i].DockerSocket, DefaultDockerSocket)
	}
	for i := range inv.Pubs {
		p := &inv.Pubs[i]
		setStr(&p.Image, d.Image)
		setInt(&p.Port, d.Port)
		if p.Memory == 0 {
			p.Memory = d.Memory
		}
		setStr(&p.Restart, d.Restart)
		setStr(&p.State, StateRunning)
		p.Health = p.Health.Inherit(d.Health)
	}
	w := &inv.Watch
	setDur(&w.UnhealthyGrace, DefaultUnhealthyGrace)
	setDur(&w.StopTimeout, DefaultStopTimeout)
	setDur(&w.Backoff.Initial, DefaultBackoffInitial)
	setDur(&w.Backoff.Max, DefaultBackoffMax)
	setDur(&w.Backoff.ResetAfter, DefaultBackoffResetAfter)
	setDur(&w.HubDownAfter, DefaultHubDownAfter)
	setDur(&w.Reconcile, DefaultReconcile)
	setDur(&w.CrashLoop.Window, DefaultCrashLoopWindow)
	setInt(&w.CrashLoop.Restarts, DefaultCrashLoopRestarts)
}

// Inherit fills each unset field of h from def, as a pub inherits the
// defaults and Docker a container's health check from its image.
func (h HealthCheck) Inherit(def HealthCheck) HealthCheck {
	if len(h.Test) == 0 {
		h.Test = def.Test
	}
	if h.Interval == 0 {
		h.Interval = def.Interval
	}
	if h.Timeout == 0 {
		h.Timeout = def.Timeout
	}
	if h.Retries == 0 {
		h.Retries = def.Retries
	}
	if h.StartPeriod == 0 {
		h.StartPeriod = def.StartPeriod
	}
	return h
}

// HubSSH is the SSH settings for hub: the inventory's ssh section with the
// hub's own overrides (user, port, identity_file, jump) applied. Fields left
// empty are for ~/.ssh/config and OpenSSH's defaults to decide.
func (inv *Inventory) HubSSH(h *Hub) SSH {
	s := inv.SSH
	if h.User != "" {
		s.User = h.User
	}
	if h.Port != 0 {
		s.Port = h.Port
	}
	if h.IdentityFile != "" {
		s.IdentityFile = h.IdentityFile
	}
	if h.Jump != "" {
		s.Jump = h.Jump
	}
	return s
}

func setStr(s *string, def string) {
	if *s == "" {
		*s = def
	}
}

func setInt(i *int, def int) {
	if *i == 0 {
		*i = def
	}
}

func setDur(d *Duration, def time.Duration) {
	if *d == 0 {
		*d = Duration(def)
	}
}
