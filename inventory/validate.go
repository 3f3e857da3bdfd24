package inventory

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
)

// MinMemory is the smallest memory limit Docker accepts for a container.
const MinMemory = ByteSize(6 << 20)

// Restart policies Docker knows (on-failure may carry a count: on-failure:5).
var restartPolicies = []string{"no", "always", "unless-stopped", "on-failure"}

// validate checks what decoding cannot: required fields, names, ranges and
// references between hubs and pubs. It runs on what the file says, before
// defaults, so a value written as 0 is refused rather than defaulted.
func validate(d *decoder, inv *Inventory) {
	v := &validator{d: d, inv: inv}
	v.version()
	v.cloud()
	v.ssh()
	v.defaults()
	v.images()
	v.hubs()
	v.pubs()
}

// validateFleet checks what depends on the defaults: port clashes and
// capacity on each hub, and the watch timings.
func validateFleet(d *decoder, inv *Inventory) {
	v := &validator{d: d, inv: inv}
	v.placement()
	v.watch()
}

type validator struct {
	d   *decoder
	inv *Inventory
}

// bad reports a problem at path (or its nearest written parent).
func (v *validator) bad(path, format string, a ...any) {
	v.d.problemAt(v.d.at(path), format, a...)
}

// ok reports whether path decoded cleanly (or was not written).
func (v *validator) ok(path string) bool { return !v.d.failed[path] }

// missing reports whether a required value at path should be reported as
// missing: not when a misspelt key was already reported for it.
func (v *validator) missing(path string) bool { return !v.d.suggested[path] }

// set reports whether the file wrote path and it decoded cleanly.
func (v *validator) set(path string) bool { return v.d.has(path) && v.ok(path) }

func (v *validator) version() {
	switch {
	case !v.d.has("version"):
		v.bad("", "version is missing; add version: %d as the first line", CurrentVersion)
	case !v.ok("version"):
	case v.inv.Version != CurrentVersion:
		v.bad("version", "version %d is not supported by this buttctl, which reads version %d; write version: %d (or use a buttctl that reads version %d)",
			v.inv.Version, CurrentVersion, CurrentVersion, v.inv.Version)
	}
}

func (v *validator) cloud() {
	c := v.inv.Cloud
	if c == nil || !v.ok("cloud") && !v.d.has("cloud.name") {
		return
	}
	if c.Name == "" && v.missing("cloud.name") {
		v.bad("cloud", "cloud.name is missing; write the name of an entry of your clouds.yaml, e.g. name: openstack")
	}
	v.text("cloud.name", c.Name)
	v.text("cloud.region", c.Region)
	s := c.Server
	v.text("cloud.server.flavor", s.Flavor)
	v.text("cloud.server.image", s.Image)
	v.text("cloud.server.network", s.Network)
	v.text("cloud.server.keypair", s.Keypair)
	for i, g := range s.SecurityGroups {
		v.text("cloud.server.security_groups."+strconv.Itoa(i), g)
	}
}

// text refuses control characters (newlines, escapes) in free-form values.
func (v *validator) text(p, s string) {
	if hasControl(s) && v.ok(p) {
		v.bad(p, "%s: %q holds control characters; write it on one line, without escapes", label(p), s)
	}
}

func (v *validator) ssh() {
	s := v.inv.SSH
	v.user("ssh.user", s.User)
	v.port("ssh.port", s.Port)
	v.jump("ssh.jump", s.Jump)
	v.text("ssh.identity_file", s.IdentityFile)
	v.text("ssh.known_hosts", s.KnownHosts)
	v.text("ssh.config", s.Config)
	if s.HostKeyChecking != "" && v.ok("ssh.host_key_checking") && s.HostKeyChecking != HostKeyStrict && s.HostKeyChecking != HostKeyAcceptNew {
		v.bad("ssh.host_key_checking", "ssh.host_key_checking: %q is not a mode; write %s (hosts must be in known_hosts) or %s (learn a new host's key on first contact)",
			s.HostKeyChecking, HostKeyStrict, HostKeyAcceptNew)
	}
}

func (v *validator) user(p, u string) {
	if u != "" && v.ok(p) && !userName.MatchString(u) {
		v.bad(p, "%s: %q is not a user name; write a login name such as debian", label(p), u)
	}
}

func (v *validator) port(p string, port int) {
	if v.set(p) && (port < 1 || port > 65535) {
		v.bad(p, "%s: port %d is out of range; write a port from 1 to 65535", label(p), port)
	}
}

func (v *validator) jump(p, j string) {
	if j != "" && v.ok(p) && !isJump(j) {
		v.bad(p, "%s: %q is not a jump host; write [user@]host[:port], as OpenSSH's ProxyJump", label(p), j)
	}
}

func (v *validator) defaults() {
	d := v.inv.Defaults
	if v.d.has("defaults.image") {
		v.image("defaults.image", d.Image)
	}
	v.port("defaults.port", d.Port)
	v.memory("defaults.memory", d.Memory)
	if v.d.has("defaults.restart") {
		v.restart("defaults.restart", d.Restart)
	}
	v.health("defaults.health", d.Health)
}

func (v *validator) image(p, ref string) {
	if v.ok(p) && !IsImageRef(ref) {
		v.bad(p, "%s: %q is not an image reference; write it like ahdinosaur/ssb-pub or registry.example.org/team/pub:1.2", label(p), ref)
	}
}

func (v *validator) memory(p string, m ByteSize) {
	if v.set(p) && m < MinMemory {
		v.bad(p, "%s: %s is below Docker's minimum of %s; write at least %s, e.g. 512m", label(p), m, MinMemory, MinMemory)
	}
}

func (v *validator) restart(p, r string) {
	if !v.ok(p) {
		return
	}
	policy, count, hasCount := strings.Cut(r, ":")
	valid := slices.Contains(restartPolicies, policy)
	if hasCount {
		n, err := strconv.Atoi(count)
		valid = policy == "on-failure" && err == nil && n >= 0
	}
	if !valid {
		v.bad(p, "%s: %q is not a Docker restart policy; write one of no, always, unless-stopped, on-failure or on-failure:N", label(p), r)
	}
}

func (v *validator) health(p string, h HealthCheck) {
	if len(h.Test) > 0 && v.ok(p+".test") {
		mode := h.Test[0]
		switch {
		case mode == "NONE" && len(h.Test) == 1,
			mode == "CMD" && len(h.Test) >= 2,
			mode == "CMD-SHELL" && len(h.Test) == 2:
		default:
			v.bad(p+".test", "%s.test: %q is not a Docker health check; write [CMD, program, args...], [CMD-SHELL, \"command\"] or [NONE]",
				label(p), strings.Join(h.Test, " "))
		}
		for i, a := range h.Test {
			v.text(p+".test."+strconv.Itoa(i), a)
		}
	}
	if v.set(p+".retries") && h.Retries < 0 {
		v.bad(p+".retries", "%s.retries: %d is negative; write 0 or more", label(p), h.Retries)
	}
}

func (v *validator) images() {
	seen := map[string]int{}
	for i, im := range v.inv.Images {
		p := "images." + strconv.Itoa(i)
		switch {
		case !v.ok(p + ".name"):
		case im.Name == "":
			if !v.missing(p + ".name") {
				break
			}
			v.bad(p, "%s: name is missing; write the image it describes, e.g. name: ahdinosaur/ssb-pub", label(p))
		case !IsImageRef(im.Name):
			v.image(p+".name", im.Name)
		default:
			repo, tag := splitImageRef(im.Name)
			key := repo + ":" + tag
			if first, dup := seen[key]; dup {
				v.bad(p+".name", "%s: image %s is already described at line %d; keep one entry per image", label(p), im.Name, v.d.line("images."+strconv.Itoa(first)))
			} else {
				seen[key] = i
			}
		}
		if im.DataDir != "" && v.ok(p+".data_dir") && (!path.IsAbs(im.DataDir) || hasControl(im.DataDir)) {
			v.bad(p+".data_dir", "%s.data_dir: %q is not an absolute path; write the directory inside the container, e.g. /home/node/.ssb", label(p), im.DataDir)
		}
		if im.HostEnv != "" && v.ok(p+".host_env") && !envName.MatchString(im.HostEnv) {
			v.bad(p+".host_env", "%s.host_env: %q is not an environment variable name; write e.g. ssb_host", label(p), im.HostEnv)
		}
		v.argv(p+".whoami", im.Whoami, "[sbot, whoami]")
		v.argv(p+".invite", im.Invite, `[sbot, invite.create, "{uses}"]`)
	}
}

func (v *validator) argv(p string, argv []string, example string) {
	if !v.ok(p) {
		return
	}
	for i, a := range argv {
		if a == "" || hasControl(a) {
			v.bad(p+"."+strconv.Itoa(i), "%s: argument %d is empty or holds control characters; write the command as a list, e.g. %s", label(p), i+1, example)
		}
	}
}

// labelProblem explains why name is not a DNS label and what to write.
func labelProblem(what, name string) string {
	rule := "a name is 1 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit (it names containers, volumes and hosts)"
	if s := suggestLabel(name); s != "" && s != name {
		return fmt.Sprintf("%s name %q is not allowed: %s; write e.g. %s", what, name, rule, s)
	}
	return fmt.Sprintf("%s name %q is not allowed: %s", what, name, rule)
}

func (v *validator) hubs() {
	seen := map[string]int{}
	endpoints := map[string]int{}
	for i := range v.inv.Hubs {
		h := &v.inv.Hubs[i]
		p := "hubs." + strconv.Itoa(i)
		if !v.ok(p) && !v.d.has(p+".name") {
			continue // not a mapping: already reported
		}
		who := label(p)
		switch {
		case !v.ok(p + ".name"):
		case h.Name == "":
			if !v.missing(p + ".name") {
				break
			}
			v.bad(p, "%s: name is missing; write name: hub-%d (a short lowercase name)", who, i+1)
		case !IsDNSLabel(h.Name):
			v.bad(p+".name", "%s", labelProblem("hub", h.Name))
		default:
			who = "hub " + h.Name
			if first, dup := seen[h.Name]; dup {
				v.bad(p+".name", "hub name %q is already used at line %d; give each hub its own name", h.Name, v.d.line("hubs."+strconv.Itoa(first)+".name"))
			} else {
				seen[h.Name] = i
			}
		}
		if h.Local {
			if h.Address != "" && v.ok(p+".address") {
				v.bad(p+".address", "%s: a local hub (local: true) is this machine's Docker engine and has no address; remove address, or remove local: true to reach it over SSH", who)
			}
			for _, k := range []string{"user", "port", "identity_file", "jump"} {
				if v.d.has(p + "." + k) {
					v.bad(p+"."+k, "%s: %s is for SSH, and a local hub (local: true) is not reached over SSH; remove %s", who, k, k)
				}
			}
		} else if v.ok(p+".address") && v.ok(p+".local") {
			switch {
			case h.Address == "":
				if !v.missing(p + ".address") {
					break
				}
				v.bad(p, "%s: address is missing; write the server's IP address or DNS name (address: 203.0.113.10), or local: true for this machine's Docker engine", who)
			case strings.HasPrefix(h.Address, "[") && strings.HasSuffix(h.Address, "]") && isAddress(h.Address[1:len(h.Address)-1]):
				v.bad(p+".address", "%s: write the IPv6 address without brackets: address: %s", who, h.Address[1:len(h.Address)-1])
			case !isAddress(h.Address):
				v.bad(p+".address", "%s: address %q is not an IP address or DNS name; write e.g. address: 203.0.113.10 (the SSH port goes in port:)", who, h.Address)
			}
		}
		if h.ServerID != "" && v.ok(p+".server_id") && (hasControl(h.ServerID) || strings.ContainsAny(h.ServerID, " \t") || len(h.ServerID) > 255) {
			v.bad(p+".server_id", "%s: server_id %q is not an OpenStack server id; write the id `openstack server show` gives, or remove it", who, h.ServerID)
		}
		if v.set(p+".capacity") && h.Capacity < 0 {
			v.bad(p+".capacity", "%s: capacity %d is negative; write the most pubs this hub may run, or 0 for no limit", who, h.Capacity)
		}
		if h.DockerSocket != "" && v.ok(p+".docker_socket") && (!path.IsAbs(h.DockerSocket) || hasControl(h.DockerSocket)) {
			v.bad(p+".docker_socket", "%s: docker_socket %q is not an absolute path; write e.g. %s", who, h.DockerSocket, DefaultDockerSocket)
		}
		if !h.Local {
			v.user(p+".user", h.User)
			v.port(p+".port", h.Port)
			v.jump(p+".jump", h.Jump)
			v.text(p+".identity_file", h.IdentityFile)
		}
		if ep := h.endpoint(); ep != "" {
			if first, dup := endpoints[ep]; dup {
				other := v.inv.Hubs[first]
				v.bad(p, "%s reaches the same Docker engine as hub %s (line %d); one hub per engine: remove one", who, show(other.Name), v.d.line("hubs."+strconv.Itoa(first)))
			} else {
				endpoints[ep] = i
			}
		}
	}
}

// endpoint identifies the Docker engine a hub reaches, to find two hubs
// pointing at the same one ("" when unknown).
func (h *Hub) endpoint() string {
	sock := h.DockerSocket
	if sock == "" {
		sock = DefaultDockerSocket
	}
	if h.Local {
		return "local:" + sock
	}
	if h.Address == "" {
		return ""
	}
	// The same address behind two bastions can be two machines.
	return fmt.Sprintf("%s:%d:%s:%s", strings.ToLower(h.Address), h.Port, sock, h.Jump)
}

// placed is a pub (by index) and its port on a hub.
type placed struct {
	pub  int
	port int
}

func (v *validator) pubs() {
	seen := map[string]int{}
	hubNames := map[string]bool{}
	var hubList []string
	hubsKnown := v.ok("hubs") || len(v.inv.Hubs) > 0
	for _, h := range v.inv.Hubs {
		if h.Name == "" {
			hubsKnown = false
		}
		hubNames[h.Name] = true
		if IsDNSLabel(h.Name) {
			hubList = append(hubList, h.Name)
		}
	}
	for i := range v.inv.Pubs {
		pb := &v.inv.Pubs[i]
		p := "pubs." + strconv.Itoa(i)
		if !v.ok(p) && !v.d.has(p+".name") {
			continue
		}
		who := label(p)
		switch {
		case !v.ok(p + ".name"):
		case pb.Name == "":
			if !v.missing(p + ".name") {
				break
			}
			v.bad(p, "%s: name is missing; write name: scuttle-%d (a short lowercase name)", who, i+1)
		case !IsDNSLabel(pb.Name):
			v.bad(p+".name", "%s", labelProblem("pub", pb.Name))
		default:
			who = "pub " + pb.Name
			if first, dup := seen[pb.Name]; dup {
				v.bad(p+".name", "pub name %q is already used at line %d; give each pub its own name", pb.Name, v.d.line("pubs."+strconv.Itoa(first)+".name"))
			} else {
				seen[pb.Name] = i
			}
		}
		if pb.Hub != "" && v.ok(p+".hub") && hubsKnown && !hubNames[pb.Hub] {
			v.bad(p+".hub", "%s: hub %q is not in hubs; %s", who, pb.Hub, hubChoice(pb.Hub, hubList))
		}
		if pb.Host != "" && v.ok(p+".host") && !isAddress(pb.Host) {
			v.bad(p+".host", "%s: host %q is not a DNS name or IP address; write the pub's public name, e.g. host: pub1.example.org", who, pb.Host)
		}
		if pb.State != "" && v.ok(p+".state") && pb.State != StateRunning && pb.State != StateStopped {
			v.bad(p+".state", "%s: state %q is not a state; write state: %s or state: %s", who, pb.State, StateRunning, StateStopped)
		}
		if v.d.has(p + ".image") {
			v.image(p+".image", pb.Image)
		}
		v.port(p+".port", pb.Port)
		v.memory(p+".memory", pb.Memory)
		if v.d.has(p + ".restart") {
			v.restart(p+".restart", pb.Restart)
		}
		if v.d.has(p + ".health") {
			v.health(p+".health", pb.Health)
		}
		for _, k := range slices.Sorted(maps.Keys(pb.Env)) {
			if !envName.MatchString(k) {
				v.bad(p+".env."+k, "%s: %q is not an environment variable name; write letters, digits and _ (not starting with a digit)", who, k)
			}
			if strings.ContainsRune(pb.Env[k], 0) {
				v.bad(p+".env."+k, "%s: env %s holds a NUL character; remove it", who, k)
			}
		}
	}
}

// placement checks, pub by pub in file order, that each placed pub has a
// port of its own on its hub and fits in the hub's capacity.
func (v *validator) placement() {
	onHub := map[string][]placed{}
	for i := range v.inv.Pubs {
		pb := &v.inv.Pubs[i]
		p := "pubs." + strconv.Itoa(i)
		hub, known := v.inv.Hub(pb.Hub)
		if pb.Hub == "" || !known || !v.ok(p+".hub") || !v.ok(p+".port") || pb.Port < 1 || pb.Port > 65535 {
			continue
		}
		who := "pub " + pb.Name
		others := onHub[pb.Hub]
		for _, o := range others {
			if o.port == pb.Port {
				v.bad(portPath(v.d, p), "%s: port %d on hub %s is already taken by pub %s (line %d); give it another port, e.g. port: %d",
					who, pb.Port, pb.Hub, show(v.inv.Pubs[o.pub].Name), v.d.line("pubs."+strconv.Itoa(o.pub)), freePort(pb.Port, others))
				break
			}
		}
		if hub.Capacity > 0 && len(others) == hub.Capacity {
			hi := slices.IndexFunc(v.inv.Hubs, func(h Hub) bool { return h.Name == pb.Hub })
			v.bad(p+".hub", "%s: hub %s is full: its capacity is %d (line %d); raise its capacity, or put this pub on another hub",
				who, pb.Hub, hub.Capacity, v.d.line("hubs."+strconv.Itoa(hi)+".capacity"))
		}
		onHub[pb.Hub] = append(others, placed{pub: i, port: pb.Port})
	}
}

func portPath(d *decoder, p string) string {
	if d.has(p + ".port") {
		return p + ".port"
	}
	return p
}

func hubChoice(name string, hubs []string) string {
	if c := closest(name, hubs); c != "" {
		return fmt.Sprintf("did you mean %s? (or add a hub named %s)", c, show(name))
	}
	if len(hubs) == 0 {
		return fmt.Sprintf("add a hub named %s under hubs", show(name))
	}
	return fmt.Sprintf("write one of %s, or add a hub named %s", strings.Join(hubs, ", "), show(name))
}

// freePort is the first port after port that no pub in others uses.
func freePort(port int, others []placed) int {
	used := map[int]bool{}
	for _, o := range others {
		used[o.port] = true
	}
	for p := port + 1; p <= 65535; p++ {
		if !used[p] {
			return p
		}
	}
	return 1024
}

func (v *validator) watch() {
	w := v.inv.Watch
	if v.ok("watch.backoff.initial") && v.ok("watch.backoff.max") && w.Backoff.Initial > w.Backoff.Max {
		v.bad("watch.backoff.initial", "watch.backoff.initial (%s) is longer than watch.backoff.max (%s%s); make initial the shorter one",
			w.Backoff.Initial, w.Backoff.Max, map[bool]string{true: "", false: ", the default"}[v.d.has("watch.backoff.max")])
	}
	if v.set("watch.crash_loop.restarts") && w.CrashLoop.Restarts < 0 {
		v.bad("watch.crash_loop.restarts", "watch.crash_loop.restarts: %d is negative; write how many restarts within the window make a crash loop (default 5)", w.CrashLoop.Restarts)
	}
	if w.Reallocate && v.ok("watch.reallocate") {
		v.reallocatable()
	}
}

// reallocatable checks that every pub's container stays down on its own:
// with watch.reallocate, a hub that comes back after its pubs were recreated
// elsewhere must not start its stale copies before watch can stop them.
func (v *validator) reallocatable() {
	blamed := map[string]bool{}
	for i, pb := range v.inv.Pubs {
		if pb.Restart == "no" {
			continue
		}
		p := "pubs." + strconv.Itoa(i) + ".restart"
		switch {
		case v.d.has(p):
		case v.d.has("defaults.restart"):
			p = "defaults.restart"
		default:
			p = "watch.reallocate"
		}
		if blamed[p] || !v.ok(p) {
			continue
		}
		blamed[p] = true
		if p == "watch.reallocate" {
			v.bad(p, "watch.reallocate needs pubs that do not restart on their own (a hub that comes back would start its stale copies), and the default restart policy is %s; write restart: \"no\" under defaults", DefaultRestart)
			continue
		}
		v.bad(p, "%s: restart %q with watch.reallocate: a hub that comes back would start its stale copies on its own; write restart: \"no\" (watch restarts pubs itself)", label(p), pb.Restart)
	}
}
