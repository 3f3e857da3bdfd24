package inventory

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustLoad(t *testing.T, path string) *Inventory {
	t.Helper()
	inv, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return inv
}

func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want *inventory.Errors, got %T: %v", err, err)
	}
	return errs.Problems
}

func TestLoadFullInventory(t *testing.T) {
	inv := mustLoad(t, "testdata/full.yaml")
	if inv.Version != 1 || inv.Cloud == nil || inv.Cloud.Name != "ovh" || inv.Cloud.Server.SecurityGroups[0] != "buttctl-hub" {
		t.Errorf("top level decoded wrong: %+v %+v", inv, inv.Cloud)
	}
	if len(inv.Hubs) != 3 || len(inv.Pubs) != 4 {
		t.Fatalf("got %d hubs, %d pubs; want 3, 4", len(inv.Hubs), len(inv.Pubs))
	}
	h2, ok := inv.Hub("hub-2")
	if !ok || h2.Jump != "admin@bastion.example.org:2222" || h2.Capacity != 2 || h2.DockerSocket != DefaultDockerSocket {
		t.Errorf("hub-2 = %+v", h2)
	}
	if l, _ := inv.Hub("local"); !l.Local || l.Address != "" {
		t.Errorf("local hub = %+v", l)
	}
	if ssh := inv.HubSSH(h2); ssh.User != "debian" || ssh.Jump != h2.Jump || ssh.HostKeyChecking != HostKeyStrict {
		t.Errorf("HubSSH(hub-2) = %+v", ssh)
	}
	s2, _ := inv.Pub("scuttle-2")
	if s2.State != StateStopped || s2.Port != 8009 || s2.Hub != "hub-1" {
		t.Errorf("scuttle-2 = %+v", s2)
	}
	s3, _ := inv.Pub("scuttle-3")
	if s3.Memory != 1<<30 || s3.Env["DEBUG"] != "*" || s3.Port != 8008 {
		t.Errorf("scuttle-3 = %+v", s3)
	}
	if got := inv.PubsOn("hub-1"); len(got) != 2 || got[0].Name != "scuttle-1" || got[1].Name != "scuttle-2" {
		t.Errorf("PubsOn(hub-1) = %v", got)
	}
	if u, _ := inv.Pub("unplaced-1"); u.Hub != "" {
		t.Errorf("a pub without hub got %q", u.Hub)
	}
	if inv.Watch.Backoff.Max.D() != 5*time.Minute || inv.Watch.Backoff.ResetAfter.D() != DefaultBackoffResetAfter {
		t.Errorf("watch = %+v", inv.Watch)
	}
}

func TestDefaultsAreInherited(t *testing.T) {
	inv, err := Parse("d.yaml", []byte(`version: 1
defaults:
  image: example.org/ssb/pub:2
  port: 9000
  memory: 1g
  restart: always
  health: {test: [CMD, sbot, whoami], interval: 10s, retries: 4}
hubs: [{name: h, local: true}]
pubs:
  - {name: plain, hub: h}
  - {name: own, hub: h, image: other/pub, port: 9001, memory: 256m, restart: "no", state: stopped, health: {retries: 9}}
`))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := inv.Pub("plain")
	if plain.Image != "example.org/ssb/pub:2" || plain.Port != 9000 || plain.Memory != 1<<30 || plain.Restart != "always" ||
		plain.State != StateRunning || plain.Health.Retries != 4 || plain.Health.Interval.D() != 10*time.Second || len(plain.Health.Test) != 3 {
		t.Errorf("plain pub did not inherit the defaults: %+v", plain)
	}
	own, _ := inv.Pub("own")
	if own.Image != "other/pub" || own.Port != 9001 || own.Memory != 256<<20 || own.Restart != "no" || own.State != StateStopped {
		t.Errorf("own pub lost its settings: %+v", own)
	}
	if own.Health.Retries != 9 || own.Health.Interval.D() != 10*time.Second || own.Health.Test[0] != "CMD" {
		t.Errorf("health must be inherited field by field: %+v", own.Health)
	}
}

func TestBuiltinDefaults(t *testing.T) {
	inv, err := Parse("m.yaml", []byte("version: 1\npubs: [{name: a}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := inv.Pubs[0]
	if p.Image != DefaultImage || p.Port != DefaultPort || p.Memory != DefaultMemory || p.Restart != DefaultRestart || p.State != StateRunning {
		t.Errorf("pub = %+v", p)
	}
	if inv.SSH.HostKeyChecking != HostKeyStrict || inv.Watch.UnhealthyGrace.D() != DefaultUnhealthyGrace ||
		inv.Watch.HubDownAfter.D() != DefaultHubDownAfter || inv.Watch.CrashLoop.Restarts != DefaultCrashLoopRestarts {
		t.Errorf("defaults not applied: ssh %+v watch %+v", inv.SSH, inv.Watch)
	}
	if inv.Hubs == nil || len(inv.Hubs) != 0 {
		t.Errorf("hubs should be an empty list, got %#v", inv.Hubs)
	}
}

// TestFiveMistakes is the acceptance test: five different mistakes,
// five problems, each at its line and column.
func TestFiveMistakes(t *testing.T) {
	_, err := Load("testdata/five-mistakes.yaml")
	got := strings.Split(err.Error(), "\n")
	want := []string{
		`testdata/five-mistakes.yaml:4:5: hubs[0]: unknown key "adress"; did you mean address?`,
		`testdata/five-mistakes.yaml:8:11: pub name "pub; rm -rf /" is not allowed`,
		`testdata/five-mistakes.yaml:11:10: pub scuttle-2: hub "hub-9" is not in hubs; did you mean hub-1?`,
		`testdata/five-mistakes.yaml:14:11: pubs[2].port: port 80800 is out of range; write a port from 1 to 65535`,
		`testdata/five-mistakes.yaml:15:13: pubs[2].memory: "lots" is not a memory size; write it like 512m or 1g`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), err)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d:\n got %s\nwant %s...", i, got[i], want[i])
		}
	}
	if ps := problemsOf(t, err); ps[0].Line != 4 || ps[0].Col != 5 || ps[0].File != "testdata/five-mistakes.yaml" {
		t.Errorf("first problem = %+v", ps[0])
	}
}

// TestProblems checks each kind of mistake on its own: exactly one problem,
// at the right place, saying the right thing.
var problemCases = []struct {
	name, yaml string
	at         string // "line:col"
	want       string // in the message
}{
	{"unknown top-level key", "version: 1\nhub: []\n", "2:1", `unknown key "hub"; did you mean hubs?`},
	{"unknown key, no near match", "version: 1\nssh: {zzz: 1}\n", "2:7", `the keys here are user, port`},
	{"unknown key with other spelling", "version: 1\nhubs: [{name: a, address: x.org, server-id: 1}]\n", "2:34", `did you mean server_id?`},
	{"repeated key", "version: 1\nhubs:\n  - name: a\n    address: x.org\n    name: b\n", "5:5", "name is written twice (first at line 3)"},
	{"missing version", "hubs: []\n", "1:1", "version is missing; add version: 1"},
	{"unsupported version", "version: 2\n", "1:10", "version 2 is not supported by this buttctl, which reads version 1; write version: 1"},
	{"version as text", "version: \"1\"\n", "1:10", `version: "1" is text, not a whole number; write a number without quotes, e.g. version: 1`},
	{"port as text", "version: 1\ndefaults: {port: eighty}\n", "2:18", `defaults.port: "eighty" is text, not a whole number`},
	{"port out of range", "version: 1\ndefaults: {port: 0}\n", "2:18", "port 0 is out of range"},
	{"negative port", "version: 1\nssh: {port: -22}\n", "2:13", "port -22 is out of range"},
	{"list where mapping", "version: 1\nssh: [a]\n", "2:6", "ssh: found a list where a mapping (key: value lines) is expected"},
	{"mapping where list", "version: 1\nhubs: {name: a}\n", "2:7", "hubs: found a mapping where a list is expected"},
	{"text where list", "version: 1\ncloud: {name: c, server: {security_groups: web}}\n", "2:44", "found text where a list is expected; write it as [a, b]"},
	{"bool as text", "version: 1\nhubs: [{name: a, local: yes}]\n", "2:25", `hubs[0].local: "yes" is not true or false; write local: true or local: false`},
	{"true as a name", "version: 1\npubs: [{name: true}]\n", "2:15", `pubs[0].name: true is true/false, not text; quote it if you mean the text: "true"`},
	{"missing hub name", "version: 1\nhubs: [{address: x.org}]\n", "2:8", "hubs[0]: name is missing; write name: hub-1"},
	{"missing address", "version: 1\nhubs: [{name: a}]\n", "2:8", "hub a: address is missing; write the server's IP address or DNS name"},
	{"local hub with address", "version: 1\nhubs: [{name: a, local: true, address: 10.0.0.1}]\n", "2:40", "a local hub (local: true) is this machine's Docker engine and has no address"},
	{"local hub with ssh user", "version: 1\nhubs: [{name: a, local: true, user: root}]\n", "2:37", "user is for SSH"},
	{"bad address", "version: 1\nhubs: [{name: a, address: 'x.org -oProxyCommand=sh'}]\n", "2:27", "is not an IP address or DNS name"},
	{"address with port", "version: 1\nhubs: [{name: a, address: 'x.org:22'}]\n", "2:27", "the SSH port goes in port:"},
	{"bracketed ipv6", "version: 1\nhubs: [{name: a, address: '[2001:db8::1]'}]\n", "2:27", "write the IPv6 address without brackets: address: 2001:db8::1"},
	{"duplicate hub", "version: 1\nhubs:\n  - {name: a, address: x.org}\n  - {name: a, address: y.org}\n", "4:12", `hub name "a" is already used at line 3`},
	{"same engine twice", "version: 1\nhubs:\n  - {name: a, address: x.org}\n  - {name: b, address: X.org}\n", "4:5", "hub b reaches the same Docker engine as hub a (line 3)"},
	{"negative capacity", "version: 1\nhubs: [{name: a, local: true, capacity: -1}]\n", "2:41", "capacity -1 is negative"},
	{"relative docker socket", "version: 1\nhubs: [{name: a, local: true, docker_socket: docker.sock}]\n", "2:46", "is not an absolute path"},
	{"missing pub name", "version: 1\npubs: [{state: stopped}]\n", "2:8", "pubs[0]: name is missing"},
	{"duplicate pub", "version: 1\npubs:\n  - name: a\n  - name: a\n", "4:11", `pub name "a" is already used at line 3`},
	{"pub on unknown hub, no hubs", "version: 1\npubs: [{name: p, hub: h}]\n", "2:23", `hub "h" is not in hubs; add a hub named h under hubs`},
	{"pub on unknown hub", "version: 1\nhubs: [{name: alpha, local: true}]\npubs: [{name: p, hub: zulu}]\n", "3:23", "write one of alpha, or add a hub named zulu"},
	{"same port on a hub", "version: 1\nhubs: [{name: h, local: true}]\npubs:\n  - {name: a, hub: h}\n  - {name: b, hub: h}\n", "5:5", "pub b: port 8008 on hub h is already taken by pub a (line 4); give it another port, e.g. port: 8009"},
	{"same explicit port", "version: 1\nhubs: [{name: h, local: true}]\npubs:\n  - {name: a, hub: h, port: 9}\n  - {name: b, hub: h, port: 9}\n", "5:29", "port 9 on hub h is already taken by pub a"},
	{"over capacity", "version: 1\nhubs: [{name: h, local: true, capacity: 1}]\npubs:\n  - {name: a, hub: h}\n  - {name: b, hub: h, port: 9}\n", "5:20", "hub h is full: its capacity is 1 (line 2)"},
	{"bad state", "version: 1\npubs: [{name: a, state: paused}]\n", "2:25", `state "paused" is not a state; write state: running or state: stopped`},
	{"bad host", "version: 1\npubs: [{name: a, host: 'pub 1.org'}]\n", "2:24", `host "pub 1.org" is not a DNS name`},
	{"bad image", "version: 1\npubs: [{name: a, image: 'Ahdinosaur/SSB pub'}]\n", "2:25", "is not an image reference"},
	{"bad duration", "version: 1\nwatch: {hub_down_after: soon}\n", "2:25", `watch.hub_down_after: "soon" is not a duration; write it like 30s, 2m or 1h30m`},
	{"duration without unit", "version: 1\nwatch: {unhealthy_grace: 30}\n", "2:26", `"30" is not a duration`},
	{"negative duration", "version: 1\nwatch: {reconcile: -1m}\n", "2:20", "is negative"},
	{"backoff upside down", "version: 1\nwatch: {backoff: {initial: 10m, max: 1m}}\n", "2:28", "is longer than watch.backoff.max"},
	{"reallocate with the default restart", "version: 1\npubs: [{name: a}]\nwatch: {reallocate: true}\n", "3:21", `watch.reallocate needs pubs that do not restart on their own (a hub that comes back would start its stale copies), and the default restart policy is unless-stopped; write restart: "no" under defaults`},
	{"reallocate with a default restart", "version: 1\ndefaults: {restart: always}\npubs: [{name: a}, {name: b}]\nwatch: {reallocate: true}\n", "2:21", `defaults.restart: restart "always" with watch.reallocate: a hub that comes back would start its stale copies on its own; write restart: "no"`},
	{"reallocate with a pub's restart", "version: 1\ndefaults: {restart: 'no'}\npubs: [{name: a}, {name: b, restart: on-failure}]\nwatch: {reallocate: true}\n", "3:38", `pubs[1].restart: restart "on-failure" with watch.reallocate`},
	{"bad memory", "version: 1\ndefaults: {memory: 12x}\n", "2:20", `"12x" is not a memory size`},
	{"memory too small", "version: 1\ndefaults: {memory: 1m}\n", "2:20", "below Docker's minimum of 6m"},
	{"bad restart", "version: 1\ndefaults: {restart: sometimes}\n", "2:21", "is not a Docker restart policy"},
	{"bad host key checking", "version: 1\nssh: {host_key_checking: 'no'}\n", "2:26", `"no" is not a mode; write strict`},
	{"bad health test", "version: 1\ndefaults: {health: {test: [sbot, whoami]}}\n", "2:27", "is not a Docker health check; write [CMD, program, args...]"},
	{"bad env name", "version: 1\npubs: [{name: a, env: {'A-B': x}}]\n", "2:24", `"A-B" is not an environment variable name`},
	{"env bool", "version: 1\npubs: [{name: a, env: {DEBUG: true}}]\n", "2:31", `quote it: DEBUG: "true"`},
	{"cloud without name", "version: 1\ncloud: {region: r}\n", "2:8", "cloud.name is missing"},
	{"bad ssh user", "version: 1\nssh: {user: '-oProxyCommand=x'}\n", "2:13", "is not a user name"},
	{"bad jump", "version: 1\nssh: {jump: 'a b'}\n", "2:13", "is not a jump host"},
	{"image entry without name", "version: 1\nimages: [{data_dir: /d}]\n", "2:10", "images[0]: name is missing"},
	{"image entry relative dir", "version: 1\nimages: [{name: x/y, data_dir: d}]\n", "2:32", `data_dir: "d" is not an absolute path`},
	{"image entry empty argv", "version: 1\nimages: [{name: x/y, whoami: [sbot, '']}]\n", "2:37", "argument 2 is empty"},
	{"duplicate image entry", "version: 1\nimages: [{name: x/y}, {name: docker.io/x/y}]\n", "2:30", "is already described at line 2"},
	{"merge key", "version: 1\nssh: {<<: {user: a}}\n", "2:7", "merge keys (<<) are not supported"},
	{"custom tag", "version: 1\nssh: {user: !env USER}\n", "2:13", "custom YAML tag !env is not supported"},
	{"syntax error", "version: 1\nhubs:\n  - name: a\n   address: b\n", "2:0", "YAML syntax: did not find expected '-' indicator"},
	{"tabs", "version: 1\nssh:\n\tuser: a\n", "3:0", "indent with spaces, not tabs"},
	{"empty file", "", "1:1", "the inventory is empty; run 'buttctl init'"},
	{"only comments", "# nothing yet\n", "1:1", "the inventory is empty"},
	{"null document", "~\n", "1:1", "the inventory has no settings"},
	{"not a mapping", "- a\n", "1:1", "the inventory must be a mapping of sections"},
	{"two documents", "version: 1\n---\nversion: 1\n", "2:1", "a second YAML document"},
}

func TestProblems(t *testing.T) {
	for _, c := range problemCases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("inv.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatalf("no problem found in:\n%s", c.yaml)
			}
			ps := problemsOf(t, err)
			if len(ps) != 1 {
				t.Fatalf("want exactly one problem, got %d:\n%v", len(ps), err)
			}
			p := ps[0]
			var line, col int
			if _, serr := fmtSscanf(c.at, &line, &col); serr != nil {
				t.Fatal(serr)
			}
			if p.Line != line || p.Col != col || !strings.Contains(p.Msg, c.want) {
				t.Errorf("got  %s\nwant inv.yaml:%s: ...%s...", p, c.at, c.want)
			}
		})
	}
}

func TestHostileNamesRefused(t *testing.T) {
	names := []string{
		"pub; rm -rf /", "../x", "UPPER", strings.Repeat("a", 64), "-lead", "trail-", "a.b", "a_b",
		"$(reboot)", "`id`", "a b", "x\n", "é", "", " a", "a/b", "--help",
	}
	for _, n := range names {
		if IsDNSLabel(n) {
			t.Errorf("IsDNSLabel(%q) = true", n)
		}
		if n == "" {
			continue
		}
		for _, doc := range []string{
			"version: 1\nhubs: [{name: %s, local: true}]\n",
			"version: 1\npubs: [{name: %s}]\n",
		} {
			src := strings.Replace(doc, "%s", quoteYAML(n), 1)
			_, err := Parse("h.yaml", []byte(src))
			if err == nil || !strings.Contains(err.Error(), "is not allowed") {
				t.Errorf("name %q accepted or refused for another reason: %v", n, err)
			}
		}
	}
	for _, ok := range []string{"a", "hub-1", strings.Repeat("a", 63), "0", "scuttle-2", "a--b"} {
		if !IsDNSLabel(ok) {
			t.Errorf("IsDNSLabel(%q) = false", ok)
		}
	}
}

func quoteYAML(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "buttctl init") {
		t.Errorf("err = %v", err)
	}
}

func TestLoadRefusesHugeFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(p, []byte("version: 1\n#"+strings.Repeat("x", MaxSize)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p)
	if err == nil || !strings.Contains(err.Error(), "larger than 4 MiB") {
		t.Errorf("err = %v", err)
	}
}

func TestAliasesAreResolved(t *testing.T) {
	inv, err := Parse("a.yaml", []byte(`version: 1
hubs: [{name: h, local: true}]
pubs:
  - {name: a, hub: h, env: &env {LOG: debug}}
  - {name: b, hub: h, port: 9000, env: *env}
`))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := inv.Pub("b"); b.Env["LOG"] != "debug" {
		t.Errorf("alias not followed: %+v", b)
	}
}

func TestAliasBombIsRefused(t *testing.T) {
	// 1000 pubs, each an alias of one pub whose health test is an alias of a
	// 1000-item list: a million values from a 10 kB file.
	src := "version: 1\ntest: &t [CMD" + strings.Repeat(", x", 999) + "]\npub: &p {name: a, health: {test: *t}}\npubs: [*p" + strings.Repeat(", *p", 999) + "]\n"
	_, err := Parse("bomb.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "too many aliases") {
		t.Errorf("err = %.300v", err)
	}
	if n := len(problemsOf(t, err)); n > maxProblems+1 {
		t.Errorf("%d problems reported; want at most %d", n, maxProblems+1)
	}
}
