package pubspec

import (
	"strings"

	"github.com/buttctl/buttctl/inventory"
)

// builtinProfiles say how to drive the images buttctl knows without being told.
var builtinProfiles = []inventory.Image{
	{Name: "ahdinosaur/ssb-pub", DataDir: "/home/node/.ssb", HostEnv: "ssb_host", Whoami: []string{"sbot", "whoami"}, Invite: []string{"sbot", "invite.create", "{uses}"}},
	{Name: "buttctl/testpub", DataDir: "/home/node/.ssb", HostEnv: "ssb_host", Whoami: []string{"sbot", "whoami"}, Invite: []string{"sbot", "invite.create", "{uses}"}},
}

// Profile says how to drive image: the inventory's images entry for its
// repository, else a built-in one, with unset fields taken from ssb-pub's.
func Profile(inv *inventory.Inventory, image string) inventory.Image {
	repo := Repository(image)
	ssbPub := builtinProfiles[0]
	p := inventory.Image{Name: repo}
	for _, b := range builtinProfiles {
		if b.Name == repo {
			p = b
		}
	}
	if inv != nil {
		for _, i := range inv.Images {
			if i.Name == image || Repository(i.Name) == repo {
				if i.DataDir != "" {
					p.DataDir = i.DataDir
				}
				if i.HostEnv != "" {
					p.HostEnv = i.HostEnv
				}
				if len(i.Whoami) > 0 {
					p.Whoami = i.Whoami
				}
				if len(i.Invite) > 0 {
					p.Invite = i.Invite
				}
			}
		}
	}
	if p.DataDir == "" {
		p.DataDir = ssbPub.DataDir
	}
	if p.HostEnv == "" {
		p.HostEnv = ssbPub.HostEnv
	}
	if len(p.Whoami) == 0 {
		p.Whoami = ssbPub.Whoami
	}
	if len(p.Invite) == 0 {
		p.Invite = ssbPub.Invite
	}
	return p
}

// Repository strips the tag and digest from an image reference:
// "ahdinosaur/ssb-pub:latest" → "ahdinosaur/ssb-pub",
// "registry:5000/x/y@sha256:…" → "registry:5000/x/y".
func Repository(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return image
}
