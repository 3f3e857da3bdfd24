// Package fleet sees the whole fleet at once and converges it on the
// inventory: Observe asks every hub concurrently (each with its own
// deadline) and returns a Snapshot; NewPlan compares a snapshot with the
// inventory and returns the ordered Actions that would make them match;
// Apply carries a plan out, parallel across hubs and in order per pub.
//
// Everything here is plain data with json tags and nothing prints: the
// status/plan/apply commands, the console and the watch daemon render and
// reuse the same values.
package fleet

import (
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/engine"
)

// Snapshot is the fleet as observed at one moment: every hub of the
// inventory, what runs there, and every pub the inventory wants.
type Snapshot struct {
	// Taken is when observing began; DurationMS how long it took.
	Taken      time.Time `json:"taken"`
	DurationMS int64     `json:"duration_ms"`
	// Hubs are in inventory order.
	Hubs []Hub `json:"hubs"`
	// Pubs are the inventory's pubs in inventory order, each with what was
	// found of it on its hub.
	Pubs []Pub `json:"pubs"`
	// Orphans are buttctl's containers that the inventory does not place
	// where they are: their pub is not in the inventory, or is on another hub.
	Orphans []Orphan `json:"orphans"`
	// Cloud is the cloud's view of the hubs; nil when no cloud is configured.
	Cloud *Cloud `json:"cloud,omitempty"`
}

// Hub is one hub as observed.
type Hub struct {
	Name    string `json:"name"`
	Address string `json:"address,omitempty"`
	Local   bool   `json:"local,omitempty"`
	// Capacity is the most pubs the inventory lets the hub run (0: no limit).
	Capacity int `json:"capacity"`
	// Placed is how many of the inventory's pubs are placed on the hub.
	Placed int `json:"placed"`
	// Reachable says the hub's Docker engine answered.
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
	// TimedOut says the hub did not answer within its deadline.
	TimedOut   bool         `json:"timed_out,omitempty"`
	DurationMS int64        `json:"duration_ms"`
	Engine     *engine.Info `json:"engine,omitempty"`
	// Containers are every buttctl-managed container on the hub, by pub name.
	Containers []Container `json:"containers"`
	// Volumes are every buttctl-managed volume on the hub: pubs' data and
	// identities.
	Volumes []Volume `json:"volumes"`
	// Server is the hub's cloud server; nil without a cloud, or when the
	// cloud has none for it.
	Server *Server `json:"server,omitempty"`
}

// Container is a buttctl-managed container as observed.
type Container struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Pub   string `json:"pub"`
	Image string `json:"image"`
	// State is Docker's: created, running, paused, restarting, exited, dead.
	State string `json:"state"`
	// Health is healthy, unhealthy, starting, or "" without a health check.
	Health    string     `json:"health"`
	Restarts  int        `json:"restarts"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	Created   time.Time  `json:"created"`
	// SpecHash is the hash of the spec the container was created from.
	SpecHash string `json:"spec_hash"`
	// Config is what the container runs with, where a pub's spec sets it;
	// nil when it could not be inspected (Error says why).
	Config *Config `json:"config,omitempty"`
	// OperatorStop is set on a container an operator stopped through
	// buttctl (`pub stop`): watch leaves it stopped until `pub start`.
	OperatorStop *engine.OperatorStop `json:"operator_stop,omitempty"`
	Error        string               `json:"error,omitempty"`
}

// Config is a container's configuration as observed, in the terms of a pub's
// spec, with what its image gives it (for what the spec leaves to the image).
type Config struct {
	Image       string                 `json:"image"`
	Env         []string               `json:"env"`
	HostPort    int                    `json:"host_port"`
	Memory      int64                  `json:"memory"`
	Health      *inventory.HealthCheck `json:"health,omitempty"`
	Restart     string                 `json:"restart"`
	Volume      string                 `json:"volume"`
	DataDir     string                 `json:"data_dir"`
	Network     string                 `json:"network"`
	SecurityOpt []string               `json:"security_opt"`
	LogDriver   string                 `json:"log_driver"`
	LogOptions  map[string]string      `json:"log_options"`
	// ImageEnv and ImageHealth are the image's own, read only for a
	// container whose spec hash says it drifted (nil otherwise).
	ImageEnv    []string               `json:"image_env,omitempty"`
	ImageHealth *inventory.HealthCheck `json:"image_health,omitempty"`
}

// Volume is a buttctl-managed volume as observed.
type Volume struct {
	Name    string    `json:"name"`
	Pub     string    `json:"pub"`
	Created time.Time `json:"created"`
}

// Pub is a pub of the inventory with what was found of it.
type Pub struct {
	Name string `json:"name"`
	// Hub is where the inventory places it ("" when it has no hub yet).
	Hub string `json:"hub,omitempty"`
	// Want is the state the inventory asks for: running or stopped.
	Want string `json:"want"`
	// Status sums up how the pub is doing; see the PubStatus constants.
	Status PubStatus `json:"status"`
	// Container is its container on its hub, if any.
	Container *Container `json:"container,omitempty"`
	// HasVolume says its hub holds its data volume (and identity).
	HasVolume bool `json:"has_volume"`
	// SpecHash is the hash of the spec the inventory asks for.
	SpecHash string `json:"spec_hash,omitempty"`
	// Drift says the container was created from another spec.
	Drift bool `json:"drift"`
	// Error says why the pub's spec could not be built, or its hub asked.
	Error string `json:"error,omitempty"`
}

// PubStatus sums up a pub: what status counts and the console colours.
type PubStatus string

// Pub statuses.
const (
	// StatusRunning: running, and healthy or without a health check.
	StatusRunning PubStatus = "running"
	// StatusStarting: running, health check not yet passed.
	StatusStarting PubStatus = "starting"
	// StatusUnhealthy: running, health check failing.
	StatusUnhealthy PubStatus = "unhealthy"
	// StatusStopped: not running, as the inventory asks.
	StatusStopped PubStatus = "stopped"
	// StatusDown: not running (exited, dead, restarting, paused, created)
	// though the inventory asks for running.
	StatusDown PubStatus = "down"
	// StatusMissing: its hub has no container for it.
	StatusMissing PubStatus = "missing"
	// StatusUnknown: its hub could not be asked.
	StatusUnknown PubStatus = "unknown"
	// StatusUnplaced: the inventory gives it no hub yet.
	StatusUnplaced PubStatus = "unplaced"
)

// Orphan is a buttctl container on a hub where the inventory does not place
// its pub.
type Orphan struct {
	Hub       string    `json:"hub"`
	Container Container `json:"container"`
	// InInventory says the pub exists in the inventory, on another hub (or
	// none); otherwise the inventory does not know it at all.
	InInventory bool `json:"in_inventory"`
	// HasVolume says the hub also holds the pub's data volume.
	HasVolume bool `json:"has_volume"`
}

// Cloud is the cloud's view of the hubs.
type Cloud struct {
	Name  string `json:"name"`
	Error string `json:"error,omitempty"`
	// Servers are the cloud's servers that carry buttctl's hub metadata.
	Servers []Server `json:"servers"`
}

// Server is a cloud server as the cloud describes it.
type Server struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Hub    string `json:"hub,omitempty"` // its buttctl.hub metadata
	Status string `json:"status"`        // ACTIVE, SHUTOFF, ERROR, BUILD, ...
	Fault  string `json:"fault,omitempty"`
}

// Hub returns the observed hub named name.
func (s *Snapshot) Hub(name string) *Hub {
	for i := range s.Hubs {
		if s.Hubs[i].Name == name {
			return &s.Hubs[i]
		}
	}
	return nil
}

// Pub returns the observed pub named name.
func (s *Snapshot) Pub(name string) *Pub {
	for i := range s.Pubs {
		if s.Pubs[i].Name == name {
			return &s.Pubs[i]
		}
	}
	return nil
}

// Container returns the hub's container of pub.
func (h *Hub) Container(pub string) *Container {
	for i := range h.Containers {
		if h.Containers[i].Pub == pub {
			return &h.Containers[i]
		}
	}
	return nil
}

// HasVolume reports whether the hub holds pub's data volume.
func (h *Hub) HasVolume(pub string) bool {
	for _, v := range h.Volumes {
		if v.Pub == pub {
			return true
		}
	}
	return false
}

// Unreachable returns the hubs that could not be asked.
func (s *Snapshot) Unreachable() []Hub {
	var out []Hub
	for _, h := range s.Hubs {
		if !h.Reachable {
			out = append(out, h)
		}
	}
	return out
}
