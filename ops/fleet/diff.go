package fleet

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/pubspec"
)

// Change is one field of a container that differs from its pub's spec.
type Change struct {
	// Field is image, env.NAME, port, memory, health, restart, volume,
	// network, security_opt, log, or spec when only the hash says so.
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

func (c Change) String() string { return fmt.Sprintf("%s: %s → %s", c.Field, c.From, c.To) }

// unset is how a change shows a value that is not there.
const unset = "(unset)"

// Diff explains how the container's configuration got differs from the spec
// want: field by field, taking what the spec leaves to the image (its
// environment, its health check) from the image, as Docker does; without the
// image's settings (got.ImageEnv nil), only what the spec sets. gotHash
// and the spec's own hash say whether they differ at all; when no field
// explains it, the change is the hash itself.
func Diff(want pubspec.Spec, got *Config, gotHash string) []Change {
	wantHash := pubspec.Hash(want)
	if got == nil {
		if gotHash == wantHash {
			return nil
		}
		return []Change{{Field: "spec", From: orUnset(gotHash), To: wantHash}}
	}
	var out []Change
	add := func(field, from, to string) {
		if from != to {
			out = append(out, Change{Field: field, From: from, To: to})
		}
	}
	add("image", got.Image, want.Image)
	out = append(out, envChanges(want.Env, got.Env, got.ImageEnv)...)
	add("port", portText(got.HostPort), portText(want.HostPort))
	add("memory", inventory.ByteSize(got.Memory).String(), inventory.ByteSize(want.Memory).String())
	if imageKnown := got.ImageEnv != nil; imageKnown {
		add("health", healthText(got.Health), healthText(mergeHealth(want.Health, got.ImageHealth)))
	}
	add("restart", got.Restart, want.Restart)
	add("volume", got.Volume+":"+got.DataDir, want.Volume+":"+want.DataDir)
	add("network", got.Network, want.Network)
	add("security_opt", strings.Join(got.SecurityOpt, ","), strings.Join(want.SecurityOpt, ","))
	add("log", logText(got.LogDriver, got.LogOptions), logText(want.LogDriver, want.LogOptions))
	if len(out) == 0 && gotHash != wantHash {
		out = append(out, Change{Field: "spec", From: orUnset(gotHash), To: wantHash})
	}
	return out
}

// envChanges compares the environment a container would get from the spec
// (the image's, overridden by the spec's) with the one it has. Without the
// image's environment only the spec's own variables are compared.
func envChanges(want, got, image []string) []Change {
	gotVars := envMap(got)
	wantVars := envMap(want)
	effective := wantVars
	if image != nil {
		effective = envMap(image)
		maps.Copy(effective, wantVars)
	}
	var out []Change
	for _, k := range slices.Sorted(maps.Keys(effective)) {
		g, ok := gotVars[k]
		if !ok {
			g = unset
		}
		if g != effective[k] {
			out = append(out, Change{Field: "env." + k, From: g, To: effective[k]})
		}
	}
	if image != nil {
		for _, k := range slices.Sorted(maps.Keys(gotVars)) {
			if _, ok := effective[k]; !ok {
				out = append(out, Change{Field: "env." + k, From: gotVars[k], To: unset})
			}
		}
	}
	return out
}

func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// mergeHealth is the health check a container gets from spec over image:
// Docker takes each field the spec leaves empty from the image.
func mergeHealth(spec, image *inventory.HealthCheck) *inventory.HealthCheck {
	if spec == nil || image == nil {
		return cmp.Or(spec, image)
	}
	h := spec.Inherit(*image)
	return &h
}

func healthText(h *inventory.HealthCheck) string {
	if h == nil {
		return "none"
	}
	var parts []string
	if len(h.Test) > 0 {
		parts = append(parts, strings.Join(h.Test, " "))
	}
	if h.Interval != 0 {
		parts = append(parts, "every "+h.Interval.String())
	}
	if h.Timeout != 0 {
		parts = append(parts, "timeout "+h.Timeout.String())
	}
	if h.Retries != 0 {
		parts = append(parts, strconv.Itoa(h.Retries)+" retries")
	}
	if h.StartPeriod != 0 {
		parts = append(parts, "start period "+h.StartPeriod.String())
	}
	if len(parts) == 0 {
		return "image's"
	}
	return strings.Join(parts, ", ")
}

func portText(p int) string {
	if p == 0 {
		return unset
	}
	return strconv.Itoa(p)
}

func logText(driver string, opts map[string]string) string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		kv = append(kv, k+"="+opts[k])
	}
	if len(kv) == 0 {
		return driver
	}
	return driver + " " + strings.Join(kv, ",")
}

func orUnset(s string) string {
	if s == "" {
		return unset
	}
	return s
}
