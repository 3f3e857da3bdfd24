package cloud

import (
	"fmt"
	"regexp"

	"go.yaml.in/yaml/v3"
)

var posixUser = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

// UserData is the cloud-init configuration a hub boots with: Docker from the
// distribution's own packages, the SSH user in the docker group, and the SSH
// host keys printed on the console (where buttctl reads them to trust the
// server). It is built as data and marshalled, never spliced as text.
func UserData(sshUser string) ([]byte, error) {
	if !posixUser.MatchString(sshUser) {
		return nil, fmt.Errorf("ssh user %q is not a valid user name: set ssh.user in the inventory (e.g. debian)", sshUser)
	}
	cfg := map[string]any{
		"package_update":            true,
		"packages":                  []string{"docker.io"},
		"ssh":                       map[string]any{"emit_keys_to_console": true},
		"ssh_key_console_blacklist": []string{},
		"runcmd": [][]string{
			{"usermod", "-aG", "docker", sshUser},
			{"systemctl", "enable", "--now", "docker"},
		},
	}
	body, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	return append([]byte("#cloud-config\n"), body...), nil
}
