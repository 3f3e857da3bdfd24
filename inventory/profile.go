package inventory

import (
	"slices"
	"strconv"
	"strings"
)

// BuiltinImages are the images whose conventions buttctl knows without an
// images: entry: ssb-pub and the project's test image, which share them.
var BuiltinImages = []string{"ahdinosaur/ssb-pub", "buttctl/testpub"}

// builtinProfile is how ssb-pub (and the test image) are driven.
var builtinProfile = Image{
	DataDir: "/home/node/.ssb",
	HostEnv: "ssb_host",
	Whoami:  []string{"sbot", "whoami"},
	Invite:  []string{"sbot", "invite.create", UsesPlaceholder},
}

// UsesPlaceholder in an Invite argv is replaced by the number of uses.
const UsesPlaceholder = "{uses}"

// ImageProfile says how to drive a pub running image: where its data lives,
// which variable carries its public host and which commands print its id and
// an invite. The inventory's images: entries override the built-in profile
// field by field; an entry with a tag (name: x:1) is preferred over one
// without (name: x) for that tag. Images nobody describes get the built-in
// profile, ssb-pub's conventions. Name is set to image.
func (inv *Inventory) ImageProfile(image string) Image {
	prof := builtinProfile
	prof.Whoami = slices.Clone(prof.Whoami)
	prof.Invite = slices.Clone(prof.Invite)
	repo, tag := splitImageRef(image)
	var best *Image
	for i := range inv.Images {
		e := &inv.Images[i]
		erepo, etag := splitImageRef(e.Name)
		if erepo != repo || etag != "" && etag != tag {
			continue
		}
		if best == nil || etag != "" {
			best = e
		}
	}
	if best != nil {
		if best.DataDir != "" {
			prof.DataDir = best.DataDir
		}
		if best.HostEnv != "" {
			prof.HostEnv = best.HostEnv
		}
		if len(best.Whoami) > 0 {
			prof.Whoami = slices.Clone(best.Whoami)
		}
		if len(best.Invite) > 0 {
			prof.Invite = slices.Clone(best.Invite)
		}
	}
	prof.Name = image
	return prof
}

// IsBuiltinImage reports whether image is one of BuiltinImages (any tag).
func IsBuiltinImage(image string) bool {
	return slices.Contains(BuiltinImages, ImageRepository(image))
}

// InviteArgv is the Invite command with the number of uses filled in.
func (im Image) InviteArgv(uses int) []string {
	out := make([]string, len(im.Invite))
	for i, a := range im.Invite {
		out[i] = strings.ReplaceAll(a, UsesPlaceholder, strconv.Itoa(uses))
	}
	return out
}
