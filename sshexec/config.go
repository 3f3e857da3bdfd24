package sshexec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kevinburke/ssh_config"
)

// sshConfig is the ssh_config files a target honours, first match wins.
type sshConfig struct {
	path  string // for errors
	files []*ssh_config.Config
}

const systemSSHConfig = "/etc/ssh/ssh_config"

// config returns the parsed ssh_config for a Target.ConfigFile, cached per pool.
func (p *Pool) config(file string) (*sshConfig, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.configs[file]; ok {
		return c, nil
	}
	c, err := loadConfig(file)
	if err != nil {
		return nil, err
	}
	p.configs[file] = c
	return c, nil
}

func loadConfig(file string) (*sshConfig, error) {
	if file == ConfigNone {
		return &sshConfig{path: ConfigNone}, nil
	}
	paths := []string{expandHome(file)}
	optional := false
	if file == "" {
		paths = []string{filepath.Join(homeDir(), ".ssh", "config"), systemSSHConfig}
		optional = true
	}
	c := &sshConfig{path: paths[0]}
	for _, path := range paths {
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) && optional {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ssh_config: %w", err)
		}
		parsed, err := ssh_config.Decode(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("ssh_config %s: %v (fix it, or set ssh.config: none in the inventory)", path, err)
		}
		c.files = append(c.files, parsed)
	}
	return c, nil
}

func (c *sshConfig) get(alias, key string) string {
	for _, f := range c.files {
		if v, err := f.Get(alias, key); err == nil && v != "" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (c *sshConfig) getAll(alias, key string) []string {
	var all []string
	for _, f := range c.files {
		if v, err := f.GetAll(alias, key); err == nil {
			for _, s := range v {
				if s = strings.TrimSpace(s); s != "" {
					all = append(all, s)
				}
			}
		}
	}
	return all
}
