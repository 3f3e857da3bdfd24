package cloud

import (
	"context"
	"fmt"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"golang.org/x/crypto/ssh"
)

// EnsureKeypair makes sure the cloud has a keypair named name holding
// publicKey (an authorized_keys line). It reports whether it created it.
// A keypair of that name with another key is an error: buttctl never
// replaces a key someone else may rely on.
func (c *Cloud) EnsureKeypair(ctx context.Context, name, publicKey string) (created bool, err error) {
	want, _, _, _, err := ssh.ParseAuthorizedKey([]byte(publicKey))
	if err != nil {
		return false, fmt.Errorf("keypair %q: the local public key is not an OpenSSH public key: %v", name, err)
	}
	kp, err := keypairs.Get(ctx, c.compute, name, nil).Extract()
	switch {
	case err == nil:
		have, _, _, _, perr := ssh.ParseAuthorizedKey([]byte(kp.PublicKey))
		if perr != nil || ssh.FingerprintSHA256(have) != ssh.FingerprintSHA256(want) {
			return false, &Error{
				Op:      "keypair " + quote(name),
				Message: fmt.Sprintf("the cloud's keypair %q holds another key than yours (%s)", name, ssh.FingerprintSHA256(want)),
				Hint:    "choose another name with --keypair or cloud.server.keypair, or delete the cloud's keypair",
			}
		}
		return false, nil
	case IsNotFound(err):
	default:
		return false, explain(err, "get keypair "+quote(name))
	}
	_, err = keypairs.Create(ctx, c.compute, keypairs.CreateOpts{Name: name, PublicKey: strings.TrimSpace(publicKey)}).Extract()
	if err != nil {
		return false, explain(err, "create keypair "+quote(name))
	}
	return true, nil
}

// DeleteKeypair deletes the keypair name.
func (c *Cloud) DeleteKeypair(ctx context.Context, name string) error {
	return explain(keypairs.Delete(ctx, c.compute, name, nil).ExtractErr(), "delete keypair "+quote(name))
}
