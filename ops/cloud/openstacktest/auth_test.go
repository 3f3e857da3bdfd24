package openstacktest

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/applicationcredentials"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"

	"github.com/buttctl/buttctl/ops/cloud"
)

func TestAuthFromCloudsYAMLEntry(t *testing.T) {
	env := Require(t)
	c := connect(t, env)
	if c.Name() != UserCloud {
		t.Errorf("Name() = %q, want %q", c.Name(), UserCloud)
	}
	if c.ProjectID() != env.ProjectID {
		t.Errorf("ProjectID() = %q, want the buttctl project %q", c.ProjectID(), env.ProjectID)
	}
	if _, err := c.HubServers(testContext(t)); err != nil {
		t.Fatalf("list servers with the token: %v", err)
	}
}

// OS_CLOUD names the entry; clouds.yaml and secure.yaml come from the
// standard location ~/.config/openstack/.
func TestAuthOSCloudFromStandardLocation(t *testing.T) {
	env := Require(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("OS_CLIENT_CONFIG_FILE", "")
	t.Setenv("OS_CLOUD", "mine")
	t.Chdir(t.TempDir())
	writeClouds(t, filepath.Join(home, ".config", "openstack"), fmt.Sprintf(`clouds:
  mine:
    auth: {auth_url: %q, username: buttctl, project_name: buttctl, user_domain_name: Default, project_domain_name: Default}
    region_name: %s
`, env.AuthURL, env.Region), fmt.Sprintf("clouds:\n  mine:\n    auth:\n      password: %q\n", env.Password(t, UserCloud)))
	c, err := cloud.Connect(testContext(t), cloud.Config{})
	if err != nil {
		t.Fatalf("connect with OS_CLOUD=mine: %v", err)
	}
	if c.Name() != "mine" || c.ProjectID() != env.ProjectID {
		t.Errorf("connected to %q project %q, want mine / %s", c.Name(), c.ProjectID(), env.ProjectID)
	}
}

func TestAuthFromOSVariables(t *testing.T) {
	env := Require(t)
	t.Setenv("OS_CLOUD", "")
	t.Setenv("OS_AUTH_URL", env.AuthURL)
	t.Setenv("OS_USERNAME", "buttctl")
	t.Setenv("OS_PASSWORD", env.Password(t, UserCloud))
	t.Setenv("OS_PROJECT_NAME", "buttctl")
	t.Setenv("OS_USER_DOMAIN_NAME", "Default")
	t.Setenv("OS_PROJECT_DOMAIN_NAME", "Default")
	t.Setenv("OS_REGION_NAME", env.Region)
	c, err := cloud.Connect(testContext(t), cloud.Config{})
	if err != nil {
		t.Fatalf("connect with OS_* variables: %v", err)
	}
	if c.ProjectID() != env.ProjectID {
		t.Errorf("project %q, want %q", c.ProjectID(), env.ProjectID)
	}
}

func TestAuthApplicationCredential(t *testing.T) {
	env := Require(t)
	ctx := testContext(t)
	user, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: env.AuthURL, Username: "buttctl", Password: env.Password(t, UserCloud), DomainName: "Default",
		Scope: &gophercloud.AuthScope{ProjectName: "buttctl", DomainName: "Default"},
	})
	if err != nil {
		t.Fatal(err)
	}
	identity, err := openstack.NewIdentityV3(user, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := tokens.Get(ctx, identity, user.Token()).ExtractUser()
	if err != nil {
		t.Fatal(err)
	}
	ac, err := applicationcredentials.Create(ctx, identity, u.ID, applicationcredentials.CreateOpts{Name: "buttctl-test-" + t.Name()}).Extract()
	if err != nil {
		t.Fatalf("create application credential: %v", err)
	}
	t.Cleanup(func() { applicationcredentials.Delete(ctx, identity, u.ID, ac.ID) })

	dir := t.TempDir()
	clouds := writeClouds(t, dir, fmt.Sprintf(`clouds:
  appcred:
    auth_type: v3applicationcredential
    auth: {auth_url: %q, application_credential_id: %q}
    region_name: %s
`, env.AuthURL, ac.ID, env.Region), fmt.Sprintf("clouds:\n  appcred:\n    auth:\n      application_credential_secret: %q\n", ac.Secret))
	c, err := cloud.Connect(ctx, cloud.Config{Name: "appcred", CloudsFile: clouds})
	if err != nil {
		t.Fatalf("connect with an application credential: %v", err)
	}
	if c.ProjectID() != env.ProjectID {
		t.Errorf("application credential scoped to %q, want %q", c.ProjectID(), env.ProjectID)
	}
	if _, err := c.HubServers(ctx); err != nil {
		t.Errorf("list servers with the application credential: %v", err)
	}
}

func TestAuthBadPasswordIs401NamingWhatToChange(t *testing.T) {
	env := Require(t)
	const bad = "not-the-password-7f3a9c"
	clouds := writeClouds(t, t.TempDir(), fmt.Sprintf(`clouds:
  wrong:
    auth: {auth_url: %q, username: buttctl, project_name: buttctl, user_domain_name: Default, project_domain_name: Default}
`, env.AuthURL), fmt.Sprintf("clouds:\n  wrong:\n    auth:\n      password: %s\n", bad))
	_, err := cloud.Connect(testContext(t), cloud.Config{Name: "wrong", CloudsFile: clouds})
	if err == nil {
		t.Fatal("connect with a wrong password succeeded")
	}
	if cloud.Status(err) != 401 {
		t.Errorf("status %d, want 401 (%v)", cloud.Status(err), err)
	}
	msg := err.Error()
	for _, want := range []string{`cloud "wrong"`, "401", "password", "clouds.yaml"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if strings.Contains(msg, bad) {
		t.Errorf("error prints the password: %q", msg)
	}
	if strings.Count(msg, "\n") != 0 {
		t.Errorf("error is not one line: %q", msg)
	}
}

func TestAuthUnknownEntryAndRegion(t *testing.T) {
	env := Require(t)
	_, err := cloud.Connect(testContext(t), cloud.Config{Name: "nope", CloudsFile: env.CloudsFile})
	if err == nil || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), "clouds.yaml") {
		t.Errorf("unknown entry: %v", err)
	}
	_, err = cloud.Connect(testContext(t), cloud.Config{Name: UserCloud, CloudsFile: env.CloudsFile, Region: "Atlantis"})
	if err == nil || !strings.Contains(err.Error(), "Atlantis") || !strings.Contains(err.Error(), "region") {
		t.Errorf("unknown region: %v", err)
	}
}

func TestNoCloudConfigured(t *testing.T) {
	t.Setenv("OS_CLOUD", "")
	t.Setenv("OS_AUTH_URL", "")
	_, err := cloud.Connect(testContext(t), cloud.Config{})
	if err != cloud.ErrNoCloud {
		t.Errorf("err = %v, want ErrNoCloud", err)
	}
}

// The token is issued once and reused; when Keystone revokes it, the next
// request authenticates again by itself.
func TestTokenReusedAndRenewedAfterRevocation(t *testing.T) {
	env := Require(t)
	ctx := testContext(t)
	counter := &authCounter{}
	c, err := cloud.Connect(ctx, cloud.Config{Name: UserCloud, CloudsFile: env.CloudsFile, Transport: counter})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := c.HubServers(ctx); err != nil {
			t.Fatal(err)
		}
	}
	issued, token := counter.state()
	if issued != 1 {
		t.Fatalf("%d tokens issued for one connection and three requests, want 1", issued)
	}
	adminIdentity, err := openstack.NewIdentityV3(admin(t, env), gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tokens.Revoke(ctx, adminIdentity, token).Err; err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := c.HubServers(ctx); err != nil {
		t.Fatalf("request after revocation: %v", err)
	}
	if issued, renewed := counter.state(); issued != 2 || renewed == token {
		t.Errorf("after revocation: %d tokens issued (want 2), renewed=%v", issued, renewed != token)
	}
}
