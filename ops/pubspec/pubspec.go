// Package pubspec builds, in one place, the container a pub runs as: a pure
// function from the inventory to a Spec (name, labels, volume, port, public
// host, health check, restart policy, memory, security and log options), and
// from a Spec to the Docker API's container configuration. Hash identifies a
// spec, so that a container created from an older inventory is visible as
// drift.
package pubspec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/engine"
)

// Fixed parts of every pub's container.
const (
	// ContainerPort is where SSB servers listen inside their container
	// unless told otherwise (see PortEnv).
	ContainerPort = 8008
	// PortEnv is ssb-server's port variable (its rc config reads ssb_*
	// variables): images whose host variable is ssb_host get it too, and
	// listen on, and announce, the pub's own port.
	PortEnv = "ssb_port"
	// Network is the bridge network of buttctl's pubs on every hub.
	Network = "buttctl"
	// LocalHost is the public host of a pub on a local hub without an address.
	LocalHost   = "localhost"
	logMaxSize  = "10m"
	logMaxFiles = "3"
)

// Spec is the container a pub runs as.
type Spec struct {
	Pub           string            `json:"pub"`
	ContainerName string            `json:"container_name"`
	Image         string            `json:"image"`
	Labels        map[string]string `json:"labels"`
	Env           []string          `json:"env"`
	Volume        string            `json:"volume"`
	DataDir       string            `json:"data_dir"`
	Network       string            `json:"network"`
	ContainerPort int               `json:"container_port"`
	HostPort      int               `json:"host_port"`
	// PublicHost is the name peers reach the pub by; invites carry it.
	PublicHost string `json:"public_host"`
	// Health is nil to keep the image's own health check.
	Health      *inventory.HealthCheck `json:"health,omitempty"`
	Restart     string                 `json:"restart"`
	Memory      int64                  `json:"memory"`
	SecurityOpt []string               `json:"security_opt"`
	LogDriver   string                 `json:"log_driver"`
	LogOptions  map[string]string      `json:"log_options"`
}

// ContainerName is the name of pub's container on its hub.
func ContainerName(pub string) string { return "buttctl-pub-" + pub }

// VolumeName is the name of pub's data volume on its hub.
func VolumeName(pub string) string { return "buttctl-pub-" + pub + "-data" }

// VolumeLabels are the labels of pub's data volume.
func VolumeLabels(pub string) map[string]string {
	return map[string]string{engine.LabelManaged: "true", engine.LabelPub: pub}
}

var dockerName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// Build returns the spec of pub, a pub of inv.
func Build(inv *inventory.Inventory, pub inventory.Pub) (Spec, error) {
	fail := func(format string, a ...any) (Spec, error) {
		return Spec{}, fmt.Errorf("pub %s: "+format, append([]any{pub.Name}, a...)...)
	}
	if !dockerName.MatchString(pub.Name) {
		return fail("the name can't name a container: use letters, digits, '.', '_' and '-', starting with a letter or digit")
	}
	if pub.Hub == "" {
		return fail("no hub: set the pub's hub in the inventory")
	}
	hub, ok := inv.Hub(pub.Hub)
	if !ok {
		return fail("hub %q is not in the inventory", pub.Hub)
	}
	if pub.Image == "" {
		return fail("no image (set defaults.image or the pub's image)")
	}
	if pub.Port < 1 || pub.Port > 65535 {
		return fail("port %d is not a TCP port (1-65535)", pub.Port)
	}
	if _, _, err := restartPolicy(pub.Restart); err != nil {
		return fail("%v", err)
	}
	prof := inv.ImageProfile(pub.Image)
	public := pub.Host
	if public == "" {
		public = hub.Address
	}
	if public == "" && hub.Local {
		public = LocalHost
	}
	if public == "" {
		return fail("no public host: set the pub's host or its hub's address")
	}
	env := map[string]string{prof.HostEnv: public}
	containerPort := ContainerPort
	if prof.HostEnv == "ssb_host" {
		env[PortEnv] = strconv.Itoa(pub.Port)
		containerPort = pub.Port
	}
	maps.Copy(env, pub.Env)
	s := Spec{
		Pub:           pub.Name,
		ContainerName: ContainerName(pub.Name),
		Image:         pub.Image,
		Labels:        map[string]string{engine.LabelManaged: "true", engine.LabelPub: pub.Name},
		Env:           envList(env),
		Volume:        VolumeName(pub.Name),
		DataDir:       prof.DataDir,
		Network:       Network,
		ContainerPort: containerPort,
		HostPort:      pub.Port,
		PublicHost:    public,
		Restart:       pub.Restart,
		Memory:        int64(pub.Memory),
		SecurityOpt:   []string{"no-new-privileges:true"},
		LogDriver:     "json-file",
		LogOptions:    map[string]string{"max-size": logMaxSize, "max-file": logMaxFiles},
	}
	if !pub.Health.IsZero() {
		h := pub.Health
		h.Test = slices.Clone(h.Test)
		s.Health = &h
	}
	s.Labels[engine.LabelSpec] = Hash(s)
	return s, nil
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// Hash identifies a spec: equal specs, equal hashes. The spec label itself is
// left out, so Hash(s) equals s.Labels[engine.LabelSpec] for a built spec.
func Hash(s Spec) string {
	s.Labels = maps.Clone(s.Labels)
	delete(s.Labels, engine.LabelSpec)
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a Spec is plain data
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// restartPolicy reads Docker's restart policies: no, always, unless-stopped,
// on-failure[:N].
func restartPolicy(p string) (name string, maxRetries int, err error) {
	name, n, hasN := strings.Cut(p, ":")
	switch name {
	case "no", "always", "unless-stopped":
		if !hasN {
			return name, 0, nil
		}
	case "on-failure":
		if !hasN {
			return name, 0, nil
		}
		if v, err := strconv.Atoi(n); err == nil && v >= 0 {
			return name, v, nil
		}
	}
	return "", 0, fmt.Errorf("restart policy %q is not one of no, always, unless-stopped, on-failure[:N]", p)
}
