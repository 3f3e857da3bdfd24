package pubspec_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/pubspec"
)

const inventoryYAML = `version: 1
defaults: {image: "ahdinosaur/ssb-pub:3", port: 8008, memory: 512m}
images:
  - {name: example/go-sbot, data_dir: /data, host_env: GOSBOT_HOST, whoami: [gosbot, whoami]}
hubs:
  - {name: hub-1, address: 203.0.113.10}
  - {name: local, local: true}
pubs:
  - {name: scuttle-1, hub: hub-1, host: pub1.example.org}
  - {name: scuttle-2, hub: hub-1, port: 8010, memory: 1g, restart: "on-failure:5",
     health: {test: [CMD, sbot, whoami], interval: 30s, timeout: 5s, retries: 3, start_period: 1m},
     env: {ssb_host: override.example.org, DEBUG: "1"}}
  - {name: home, hub: local}
  - {name: gopub, hub: hub-1, port: 8009, image: "example/go-sbot:v2"}
`

func load(t *testing.T) *inventory.Inventory {
	t.Helper()
	inv, err := inventory.Parse("buttctl.yaml", []byte(inventoryYAML))
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func build(t *testing.T, inv *inventory.Inventory, name string) pubspec.Spec {
	t.Helper()
	p, ok := inv.Pub(name)
	if !ok {
		t.Fatalf("no pub %s", name)
	}
	s, err := pubspec.Build(inv, *p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBuildDefaults(t *testing.T) {
	inv := load(t)
	got := build(t, inv, "scuttle-1")
	want := pubspec.Spec{
		Pub:           "scuttle-1",
		ContainerName: "buttctl-pub-scuttle-1",
		Image:         "ahdinosaur/ssb-pub:3",
		Labels: map[string]string{
			"buttctl.managed": "true",
			"buttctl.pub":     "scuttle-1",
			"buttctl.spec":    got.Labels["buttctl.spec"],
		},
		Env:           []string{"ssb_host=pub1.example.org", "ssb_port=8008"},
		Volume:        "buttctl-pub-scuttle-1-data",
		DataDir:       "/home/node/.ssb",
		Network:       "buttctl",
		ContainerPort: 8008,
		HostPort:      8008,
		PublicHost:    "pub1.example.org",
		Restart:       "unless-stopped",
		Memory:        512 << 20,
		SecurityOpt:   []string{"no-new-privileges:true"},
		LogDriver:     "json-file",
		LogOptions:    map[string]string{"max-size": "10m", "max-file": "3"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("spec:\n got %+v\nwant %+v", got, want)
	}
	if h := got.Labels["buttctl.spec"]; len(h) != 16 || h != pubspec.Hash(got) {
		t.Errorf("spec label %q, Hash %q", h, pubspec.Hash(got))
	}
}

func TestDockerConfigExactly(t *testing.T) {
	inv := load(t)
	s := build(t, inv, "scuttle-2")
	cfg, host := s.Docker()
	gotCfg, _ := json.Marshal(cfg)
	gotHost, _ := json.Marshal(host)
	wantCfg := `{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,` +
		`"ExposedPorts":{"8010/tcp":{}},"Tty":false,"OpenStdin":false,"StdinOnce":false,` +
		`"Env":["DEBUG=1","ssb_host=override.example.org","ssb_port=8010"],"Cmd":null,` +
		`"Healthcheck":{"Test":["CMD","sbot","whoami"],"Interval":30000000000,"Timeout":5000000000,"StartPeriod":60000000000,"Retries":3},` +
		`"Image":"ahdinosaur/ssb-pub:3","Volumes":null,"WorkingDir":"","Entrypoint":null,` +
		`"Labels":{"buttctl.managed":"true","buttctl.pub":"scuttle-2","buttctl.spec":"` + s.Labels["buttctl.spec"] + `"}}`
	if string(gotCfg) != wantCfg {
		t.Errorf("config:\n got %s\nwant %s", gotCfg, wantCfg)
	}
	for _, want := range []string{
		`"NetworkMode":"buttctl"`,
		`"PortBindings":{"8010/tcp":[{"HostIp":"","HostPort":"8010"}]}`,
		`"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":5}`,
		`"LogConfig":{"Type":"json-file","Config":{"max-file":"3","max-size":"10m"}}`,
		`"SecurityOpt":["no-new-privileges:true"]`,
		`"Memory":1073741824`,
		`"Mounts":[{"Type":"volume","Source":"buttctl-pub-scuttle-2-data","Target":"/home/node/.ssb"}]`,
	} {
		if !strings.Contains(string(gotHost), want) {
			t.Errorf("host config lacks %s:\n%s", want, gotHost)
		}
	}
	for _, unwanted := range []string{`"Privileged":true`, `"Binds":[`, `"PublishAllPorts":true`} {
		if strings.Contains(string(gotHost), unwanted) {
			t.Errorf("host config has %s", unwanted)
		}
	}
}

func TestPublicHostFallsBackToTheHub(t *testing.T) {
	inv := load(t)
	// An image with its own conventions: no ssb_port, container port 8008.
	if s := build(t, inv, "gopub"); s.PublicHost != "203.0.113.10" || !reflect.DeepEqual(s.Env, []string{"GOSBOT_HOST=203.0.113.10"}) || s.DataDir != "/data" ||
		s.ContainerPort != 8008 || s.HostPort != 8009 {
		t.Errorf("gopub: host %q env %v data %q ports %d→%d", s.PublicHost, s.Env, s.DataDir, s.HostPort, s.ContainerPort)
	}
	if s := build(t, inv, "home"); s.PublicHost != "localhost" {
		t.Errorf("pub on the local hub: public host %q", s.PublicHost)
	}
	inv.Hubs[0].Address = ""
	p, _ := inv.Pub("gopub")
	if _, err := pubspec.Build(inv, *p); err == nil || err.Error() != "pub gopub: no public host: set the pub's host or its hub's address" {
		t.Errorf("err = %v", err)
	}
}

func TestHashChangesWithEveryField(t *testing.T) {
	inv := load(t)
	base := build(t, inv, "scuttle-1")
	if again := build(t, inv, "scuttle-1"); pubspec.Hash(again) != pubspec.Hash(base) {
		t.Fatal("the same inventory gave two hashes")
	}
	p, _ := inv.Pub("scuttle-1")
	for name, change := range map[string]func(p *inventory.Pub){
		"image":   func(p *inventory.Pub) { p.Image = "ahdinosaur/ssb-pub:4" },
		"port":    func(p *inventory.Pub) { p.Port = 9000 },
		"host":    func(p *inventory.Pub) { p.Host = "other.example.org" },
		"memory":  func(p *inventory.Pub) { p.Memory = 1 << 30 },
		"restart": func(p *inventory.Pub) { p.Restart = "always" },
		"env":     func(p *inventory.Pub) { p.Env = map[string]string{"A": "b"} },
		"health":  func(p *inventory.Pub) { p.Health.Retries = 7 },
	} {
		changed := *p
		change(&changed)
		s, err := pubspec.Build(inv, changed)
		if err != nil {
			t.Fatal(err)
		}
		if s.Labels["buttctl.spec"] == base.Labels["buttctl.spec"] {
			t.Errorf("changing the %s kept the hash", name)
		}
	}
}

func TestBuildRejects(t *testing.T) {
	inv := load(t)
	p, _ := inv.Pub("scuttle-1")
	for want, change := range map[string]func(p *inventory.Pub){
		`pub bad name: the name can't name a container`:      func(p *inventory.Pub) { p.Name = "bad name" },
		`pub scuttle-1: hub "hub-7" is not in the inventory`: func(p *inventory.Pub) { p.Hub = "hub-7" },
		`pub scuttle-1: port 70000 is not a TCP port`:        func(p *inventory.Pub) { p.Port = 70000 },
		`pub scuttle-1: restart policy "sometimes" is not`:   func(p *inventory.Pub) { p.Restart = "sometimes" },
		`pub scuttle-1: restart policy "on-failure:x" is`:    func(p *inventory.Pub) { p.Restart = "on-failure:x" },
	} {
		bad := *p
		change(&bad)
		if _, err := pubspec.Build(inv, bad); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("want %q, got %v", want, err)
		}
	}
}
