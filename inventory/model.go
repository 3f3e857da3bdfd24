// Package inventory holds buttctl's model of the fleet an operator wants:
// the YAML inventory file (cloud, ssh, defaults, hubs, pubs, watch), loaded
// strictly with file:line:column errors, validated, edited in place (comments
// kept), saved atomically and locked against concurrent writers.
//
// It imports only the standard library and go.yaml.in/yaml/v3.
package inventory

import "time"

// CurrentVersion is the only inventory format version this buttctl reads.
const CurrentVersion = 1

// Pub states an operator can ask for.
const (
	StateRunning = "running"
	StateStopped = "stopped"
)

// Host key checking modes, named after OpenSSH's StrictHostKeyChecking.
const (
	HostKeyStrict    = "strict"
	HostKeyAcceptNew = "accept-new"
)

// Inventory is the fleet an operator wants, after defaults are applied.
type Inventory struct {
	Version  int      `json:"version" yaml:"version"`
	Cloud    *Cloud   `json:"cloud,omitempty" yaml:"cloud,omitempty"`
	SSH      SSH      `json:"ssh" yaml:"ssh"`
	Defaults Defaults `json:"defaults" yaml:"defaults"`
	Images   []Image  `json:"images,omitempty" yaml:"images,omitempty"`
	Hubs     []Hub    `json:"hubs" yaml:"hubs"`
	Pubs     []Pub    `json:"pubs" yaml:"pubs"`
	Watch    Watch    `json:"watch" yaml:"watch"`

	// Path is the file the inventory was loaded from ("" when built in memory).
	Path string `json:"-" yaml:"-"`
}

// Cloud names the OpenStack cloud hubs are created on. Credentials live in
// clouds.yaml / secure.yaml / OS_* variables, never here.
type Cloud struct {
	Name   string         `json:"name" yaml:"name"`
	Region string         `json:"region,omitempty" yaml:"region,omitempty"`
	Server ServerTemplate `json:"server" yaml:"server"`
}

// ServerTemplate is what `hub create` boots unless flags say otherwise.
type ServerTemplate struct {
	Flavor         string   `json:"flavor,omitempty" yaml:"flavor,omitempty"`
	Image          string   `json:"image,omitempty" yaml:"image,omitempty"`
	Network        string   `json:"network,omitempty" yaml:"network,omitempty"`
	Keypair        string   `json:"keypair,omitempty" yaml:"keypair,omitempty"`
	SecurityGroups []string `json:"security_groups,omitempty" yaml:"security_groups,omitempty"`
}

// SSH is how buttctl reaches hubs. Every field may be overridden per hub.
type SSH struct {
	User            string `json:"user,omitempty" yaml:"user,omitempty"`
	Port            int    `json:"port,omitempty" yaml:"port,omitempty"`
	IdentityFile    string `json:"identity_file,omitempty" yaml:"identity_file,omitempty"`
	KnownHosts      string `json:"known_hosts,omitempty" yaml:"known_hosts,omitempty"`
	HostKeyChecking string `json:"host_key_checking" yaml:"host_key_checking"`
	// Jump is a bastion, as OpenSSH's ProxyJump: [user@]host[:port].
	Jump string `json:"jump,omitempty" yaml:"jump,omitempty"`
	// Config is an ssh_config file to honour ("" means ~/.ssh/config).
	Config string `json:"config,omitempty" yaml:"config,omitempty"`
}

// Defaults are what every pub inherits unless it says otherwise.
type Defaults struct {
	Image   string      `json:"image" yaml:"image"`
	Port    int         `json:"port" yaml:"port"`
	Memory  ByteSize    `json:"memory" yaml:"memory"`
	Health  HealthCheck `json:"health" yaml:"health"`
	Restart string      `json:"restart" yaml:"restart"`
}

// HealthCheck is a container health check. An empty Test means "the image's own".
type HealthCheck struct {
	Test        []string `json:"test,omitempty" yaml:"test,omitempty"`
	Interval    Duration `json:"interval,omitempty" yaml:"interval,omitempty"`
	Timeout     Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	Retries     int      `json:"retries,omitempty" yaml:"retries,omitempty"`
	StartPeriod Duration `json:"start_period,omitempty" yaml:"start_period,omitempty"`
}

// Image describes how to drive a pub image whose commands differ from the
// built-in profiles (ssb-pub and the test image).
type Image struct {
	// Name matches a pub's image by repository, with or without a tag.
	Name string `json:"name" yaml:"name"`
	// DataDir is where the image keeps its data (and its `secret`).
	DataDir string `json:"data_dir,omitempty" yaml:"data_dir,omitempty"`
	// HostEnv is the environment variable that carries the pub's public host.
	HostEnv string `json:"host_env,omitempty" yaml:"host_env,omitempty"`
	// Whoami is the argv that prints the pub's id.
	Whoami []string `json:"whoami,omitempty" yaml:"whoami,omitempty"`
	// Invite is the argv that prints an invite; "{uses}" is replaced by the count.
	Invite []string `json:"invite,omitempty" yaml:"invite,omitempty"`
}

// Hub is a server running a Docker engine, reached over SSH (or this machine when Local).
type Hub struct {
	Name         string `json:"name" yaml:"name"`
	Address      string `json:"address,omitempty" yaml:"address,omitempty"`
	ServerID     string `json:"server_id,omitempty" yaml:"server_id,omitempty"`
	Capacity     int    `json:"capacity,omitempty" yaml:"capacity,omitempty"`
	Local        bool   `json:"local,omitempty" yaml:"local,omitempty"`
	DockerSocket string `json:"docker_socket,omitempty" yaml:"docker_socket,omitempty"`
	// SSH overrides of the inventory's ssh section for this hub.
	User         string `json:"user,omitempty" yaml:"user,omitempty"`
	Port         int    `json:"port,omitempty" yaml:"port,omitempty"`
	IdentityFile string `json:"identity_file,omitempty" yaml:"identity_file,omitempty"`
	Jump         string `json:"jump,omitempty" yaml:"jump,omitempty"`
}

// Pub is an SSB server the operator wants on a hub.
type Pub struct {
	Name  string `json:"name" yaml:"name"`
	Hub   string `json:"hub,omitempty" yaml:"hub,omitempty"`
	Host  string `json:"host,omitempty" yaml:"host,omitempty"`
	State string `json:"state" yaml:"state"`

	Image   string            `json:"image" yaml:"image"`
	Port    int               `json:"port" yaml:"port"`
	Memory  ByteSize          `json:"memory" yaml:"memory"`
	Health  HealthCheck       `json:"health" yaml:"health"`
	Restart string            `json:"restart" yaml:"restart"`
	Env     map[string]string `json:"env,omitempty" yaml:"env,omitempty"`
}

// Watch tunes the kill-and-heal daemon.
type Watch struct {
	// UnhealthyGrace is how long a pub may stay unhealthy before it is killed.
	UnhealthyGrace Duration `json:"unhealthy_grace" yaml:"unhealthy_grace"`
	// StopTimeout is how long a killed pub gets between SIGTERM and SIGKILL.
	StopTimeout  Duration  `json:"stop_timeout" yaml:"stop_timeout"`
	Backoff      Backoff   `json:"backoff" yaml:"backoff"`
	HubDownAfter Duration  `json:"hub_down_after" yaml:"hub_down_after"`
	Reconcile    Duration  `json:"reconcile" yaml:"reconcile"`
	CrashLoop    CrashLoop `json:"crash_loop" yaml:"crash_loop"`
	RebootHubs   bool      `json:"reboot_hubs" yaml:"reboot_hubs"`
	// Reallocate recreates a down hub's pubs on other hubs. It needs pubs
	// with restart policy "no": a hub that comes back must not start its
	// stale copies on its own.
	Reallocate bool `json:"reallocate" yaml:"reallocate"`
}

// Backoff is a per-pub exponential backoff.
type Backoff struct {
	Initial Duration `json:"initial" yaml:"initial"`
	Max     Duration `json:"max" yaml:"max"`
	// ResetAfter is how long a pub must stay healthy to forget its backoff.
	ResetAfter Duration `json:"reset_after" yaml:"reset_after"`
}

// CrashLoop says when restarts become a crash loop: more than Restarts in Window.
type CrashLoop struct {
	Restarts int      `json:"restarts" yaml:"restarts"`
	Window   Duration `json:"window" yaml:"window"`
}

// Duration is a time.Duration written as "30s", "2m", "1h30m".
type Duration time.Duration

// ByteSize is a memory size written as Docker writes them: "512m", "1g", "64k", or bytes.
type ByteSize int64

// Hub returns the hub named name.
func (inv *Inventory) Hub(name string) (*Hub, bool) {
	for i := range inv.Hubs {
		if inv.Hubs[i].Name == name {
			return &inv.Hubs[i], true
		}
	}
	return nil, false
}

// Pub returns the pub named name.
func (inv *Inventory) Pub(name string) (*Pub, bool) {
	for i := range inv.Pubs {
		if inv.Pubs[i].Name == name {
			return &inv.Pubs[i], true
		}
	}
	return nil, false
}

// PubsOn returns the pubs the inventory places on hub, in inventory order.
func (inv *Inventory) PubsOn(hub string) []Pub {
	var out []Pub
	for _, p := range inv.Pubs {
		if p.Hub == hub {
			out = append(out, p)
		}
	}
	return out
}
