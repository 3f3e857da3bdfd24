package openstacktest

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"

	"github.com/buttctl/buttctl/ops/cloud"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// connect authenticates as the project user from the generated clouds.yaml.
func connect(t *testing.T, env *Env) *cloud.Cloud {
	t.Helper()
	c, err := cloud.Connect(testContext(t), cloud.Config{Name: UserCloud, CloudsFile: env.CloudsFile})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	return c
}

// admin is a raw gophercloud provider for the cloud's admin, for what the
// tests arrange around buttctl (quotas, revoking tokens).
func admin(t *testing.T, env *Env) *gophercloud.ProviderClient {
	t.Helper()
	p, err := openstack.AuthenticatedClient(testContext(t), gophercloud.AuthOptions{
		IdentityEndpoint: env.AuthURL, Username: "admin", Password: env.Password(t, AdminCloud),
		DomainName: "Default", Scope: &gophercloud.AuthScope{ProjectName: "admin", DomainName: "Default"},
	})
	if err != nil {
		t.Fatalf("admin auth: %v", err)
	}
	return p
}

// writeClouds writes a clouds.yaml (and secure.yaml when secure != "") into a
// new directory and returns the clouds.yaml path.
func writeClouds(t *testing.T, dir, clouds, secure string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "clouds.yaml")
	if err := os.WriteFile(p, []byte(clouds), 0o600); err != nil {
		t.Fatal(err)
	}
	if secure != "" {
		if err := os.WriteFile(filepath.Join(dir, "secure.yaml"), []byte(secure), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// authCounter counts token requests and keeps the last token issued.
type authCounter struct {
	mu     sync.Mutex
	issued int
	token  string
}

func (a *authCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/auth/tokens") && resp.StatusCode == http.StatusCreated {
		a.mu.Lock()
		a.issued++
		a.token = resp.Header.Get("X-Subject-Token")
		a.mu.Unlock()
	}
	return resp, err
}

func (a *authCounter) state() (int, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.issued, a.token
}
