package inventory

import "time"

// Built-in defaults, in one place.
const (
	DefaultImage        = "ahdinosaur/ssb-pub"
	DefaultPort         = 8008
	DefaultMemory       = ByteSize(512 << 20)
	DefaultRestart      = "unless-stopped"
	DefaultDockerSocket = "/var/run/docker.sock"
	DefaultSSHPort      = 22
)

func (inv *Inventory) applyDefaults() {
	d := &inv.Defaults
	if d.Image == "" {
		d.Image = DefaultImage
	}
	if d.Port == 0 {
		d.Port = DefaultPort
	}
	if d.Memory == 0 {
		d.Memory = DefaultMemory
	}
	if d.Restart == "" {
		d.Restart = DefaultRestart
	}
	if inv.SSH.HostKeyChecking == "" {
		inv.SSH.HostKeyChecking = HostKeyStrict
	}
	for i := range inv.Hubs {
		h := &inv.Hubs[i]
		if h.DockerSocket == "" {
			h.DockerSocket = DefaultDockerSocket
		}
	}
	for i := range inv.Pubs {
		p := &inv.Pubs[i]
		if p.Image == "" {
			p.Image = d.Image
		}
		if p.Port == 0 {
			p.Port = d.Port
		}
		if p.Memory == 0 {
			p.Memory = d.Memory
		}
		if p.Restart == "" {
			p.Restart = d.Restart
		}
		if p.State == "" {
			p.State = StateRunning
		}
		if p.Health.IsZero() {
			p.Health = d.Health
		}
	}
	w := &inv.Watch
	setDur(&w.UnhealthyGrace, 30*time.Second)
	setDur(&w.Backoff.Initial, time.Second)
	setDur(&w.Backoff.Max, 5*time.Minute)
	setDur(&w.Backoff.ResetAfter, 10*time.Minute)
	setDur(&w.HubDownAfter, 2*time.Minute)
	setDur(&w.Reconcile, time.Minute)
	setDur(&w.CrashLoop.Window, 10*time.Minute)
	if w.CrashLoop.Restarts == 0 {
		w.CrashLoop.Restarts = 5
	}
}

func setDur(d *Duration, def time.Duration) {
	if *d == 0 {
		*d = Duration(def)
	}
}
