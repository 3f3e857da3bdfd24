package inventory

import (
	"slices"
	"testing"
)

func TestImageProfileBuiltin(t *testing.T) {
	inv := &Inventory{}
	for _, img := range []string{"ahdinosaur/ssb-pub", "ahdinosaur/ssb-pub:latest", "docker.io/ahdinosaur/ssb-pub", "buttctl/testpub:dev", "someone/else"} {
		p := inv.ImageProfile(img)
		if p.Name != img || p.DataDir != "/home/node/.ssb" || p.HostEnv != "ssb_host" ||
			!slices.Equal(p.Whoami, []string{"sbot", "whoami"}) || !slices.Equal(p.Invite, []string{"sbot", "invite.create", "{uses}"}) {
			t.Errorf("ImageProfile(%q) = %+v", img, p)
		}
	}
	for img, want := range map[string]bool{"ahdinosaur/ssb-pub:3": true, "buttctl/testpub": true, "index.docker.io/buttctl/testpub@sha256:" + sha: true, "ahdinosaur/ssb-pub-fork": false} {
		if IsBuiltinImage(img) != want {
			t.Errorf("IsBuiltinImage(%q) = %v", img, !want)
		}
	}
}

const sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestImageProfileFromInventory(t *testing.T) {
	inv, err := Parse("i.yaml", []byte(`version: 1
images:
  - name: ssbc/go-sbot
    data_dir: /data
    whoami: [gosbot, whoami]
  - name: ssbc/go-sbot:nightly
    data_dir: /nightly
  - name: ahdinosaur/ssb-pub
    host_env: SSB_HOST
`))
	if err != nil {
		t.Fatal(err)
	}
	p := inv.ImageProfile("ssbc/go-sbot:1.2")
	if p.DataDir != "/data" || !slices.Equal(p.Whoami, []string{"gosbot", "whoami"}) || p.HostEnv != "ssb_host" || p.Invite[0] != "sbot" {
		t.Errorf("go-sbot:1.2 = %+v (want the entry over the built-in profile)", p)
	}
	if p := inv.ImageProfile("ssbc/go-sbot:nightly"); p.DataDir != "/nightly" || p.Whoami[0] != "sbot" {
		t.Errorf("go-sbot:nightly = %+v (want the tagged entry)", p)
	}
	if p := inv.ImageProfile("docker.io/ahdinosaur/ssb-pub:latest"); p.HostEnv != "SSB_HOST" || p.DataDir != "/home/node/.ssb" {
		t.Errorf("ssb-pub = %+v", p)
	}
	// The profile is a copy: changing it must not change the next one.
	p.Whoami[0] = "changed"
	if q := inv.ImageProfile("ssbc/go-sbot"); q.Whoami[0] != "gosbot" {
		t.Errorf("profiles share memory: %v", q.Whoami)
	}
	if got := inv.ImageProfile("x").InviteArgv(5); !slices.Equal(got, []string{"sbot", "invite.create", "5"}) {
		t.Errorf("InviteArgv(5) = %v", got)
	}
}

func TestImageRefs(t *testing.T) {
	for _, ok := range []string{"ahdinosaur/ssb-pub", "ahdinosaur/ssb-pub:latest", "localhost:5000/a/b:1.0", "registry.example.org/team/pub@sha256:" + sha, "x", "a__b/c-d.e:v1_2"} {
		if !IsImageRef(ok) {
			t.Errorf("IsImageRef(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", "Upper/case", "a b", "a/b:", ":tag", "a//b", "-a", "a/b:tag with space", "a;rm -rf /"} {
		if IsImageRef(bad) {
			t.Errorf("IsImageRef(%q) = true", bad)
		}
	}
	for ref, repo := range map[string]string{"docker.io/library/debian:12": "debian", "localhost:5000/a/b:1": "localhost:5000/a/b", "a/b@sha256:" + sha: "a/b", "a/b": "a/b"} {
		if got := ImageRepository(ref); got != repo {
			t.Errorf("ImageRepository(%q) = %q, want %q", ref, got, repo)
		}
	}
}
