package cloud

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"go.yaml.in/yaml/v3"
)

// ComputeMicroversion is the Nova API version buttctl speaks: 2.47 embeds the
// flavor's name in a server (Pike and later).
const ComputeMicroversion = "2.47"

// Config says which cloud to reach.
type Config struct {
	// Name is the clouds.yaml entry (the inventory's cloud.name). Empty means
	// $OS_CLOUD, and without it the OS_* variables (OS_AUTH_URL, ...).
	Name string
	// Region overrides the entry's region_name / $OS_REGION_NAME.
	Region string
	// CloudsFile is a clouds.yaml to read instead of the standard locations
	// (./clouds.yaml, ~/.config/openstack/, /etc/openstack/; or
	// $OS_CLIENT_CONFIG_FILE). Its secure.yaml is read from beside it.
	CloudsFile string
	// Retry tunes the retries of 429 and 5xx answers.
	Retry RetryPolicy
	// Timeout bounds one HTTP request (default 60s).
	Timeout time.Duration
	// Transport carries the requests (default: a clone of
	// http.DefaultTransport with the entry's TLS settings).
	Transport http.RoundTripper
}

// Cloud is an authenticated connection to one OpenStack cloud. The token is
// reused for every request and renewed when the cloud says it expired.
type Cloud struct {
	name     string
	region   string
	provider *gophercloud.ProviderClient
	compute  *gophercloud.ServiceClient
	network  *gophercloud.ServiceClient
	image    *gophercloud.ServiceClient
}

// ErrNoCloud says that nothing names a cloud to use.
var ErrNoCloud = errors.New("no cloud is configured: add a cloud section to the inventory (cloud: {name: ENTRY}, ENTRY from your clouds.yaml), or set OS_CLOUD or the OS_* variables")

// Connect authenticates to the cloud cfg names.
func Connect(ctx context.Context, cfg Config) (*Cloud, error) {
	name := cfg.Name
	if name == "" {
		name = os.Getenv("OS_CLOUD")
	}
	var (
		ao     gophercloud.AuthOptions
		eo     gophercloud.EndpointOpts
		tlsCfg *tls.Config
		err    error
	)
	label := name
	switch {
	case name != "":
		opts := []clouds.ParseOption{clouds.WithCloudName(name)}
		if cfg.Region != "" {
			opts = append(opts, clouds.WithRegion(cfg.Region))
		}
		if cfg.CloudsFile != "" {
			opts = append(opts, clouds.WithLocations(cfg.CloudsFile))
		}
		ao, eo, tlsCfg, err = clouds.Parse(opts...)
		if err != nil {
			return nil, fmt.Errorf("cloud %q: %s", name, cloudsError(err))
		}
	case os.Getenv("OS_AUTH_URL") != "":
		// The OS_* variables, read as python-openstackclient reads them: as
		// one clouds.yaml entry, through the same loader.
		label = "OS_AUTH_URL"
		entry, err := envCloud()
		if err != nil {
			return nil, err
		}
		opts := []clouds.ParseOption{clouds.WithCloudName("envvars"), clouds.WithCloudsYAML(bytes.NewReader(entry))}
		if cfg.Region != "" {
			opts = append(opts, clouds.WithRegion(cfg.Region))
		}
		ao, eo, tlsCfg, err = clouds.Parse(opts...)
		if err != nil {
			return nil, fmt.Errorf("cloud from OS_* variables: %v", err)
		}
	default:
		return nil, ErrNoCloud
	}
	if ao.IdentityEndpoint == "" {
		return nil, fmt.Errorf("cloud %q has no auth_url: add auth.auth_url to its clouds.yaml entry", label)
	}
	ao.AllowReauth = true

	provider, err := openstack.NewClient(ao.IdentityEndpoint)
	if err != nil {
		return nil, fmt.Errorf("cloud %q: auth_url %q: %v", label, ao.IdentityEndpoint, err)
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if tlsCfg != nil {
		transport.TLSClientConfig = tlsCfg
	}
	provider.HTTPClient = http.Client{Transport: transport, Timeout: timeout}
	if cfg.Transport != nil {
		provider.HTTPClient.Transport = cfg.Transport
	}
	provider.UserAgent.Prepend("buttctl")
	provider.RetryFunc = cfg.Retry.retryFunc()

	if err := openstack.Authenticate(ctx, provider, ao); err != nil {
		return nil, explain(err, "cloud "+quote(label)+": authenticate at "+ao.IdentityEndpoint)
	}
	c := &Cloud{name: label, region: eo.Region, provider: provider}
	if c.compute, err = openstack.NewComputeV2(provider, eo); err != nil {
		return nil, c.catalogError("compute (nova)", err)
	}
	c.compute.Microversion = ComputeMicroversion
	if c.network, err = openstack.NewNetworkV2(provider, eo); err != nil {
		return nil, c.catalogError("network (neutron)", err)
	}
	if c.image, err = openstack.NewImageV2(provider, eo); err != nil {
		return nil, c.catalogError("image (glance)", err)
	}
	return c, nil
}

// Name is the clouds.yaml entry (or "OS_AUTH_URL" for the OS_* variables).
func (c *Cloud) Name() string { return c.name }

// ProjectID is the project the token is scoped to ("" when unscoped).
func (c *Cloud) ProjectID() string {
	r, ok := c.provider.GetAuthResult().(tokens.CreateResult)
	if !ok {
		return ""
	}
	p, err := r.ExtractProject()
	if err != nil || p == nil {
		return ""
	}
	return p.ID
}

func (c *Cloud) catalogError(service string, err error) error {
	region := c.region
	if region == "" {
		region = "any region"
	}
	return fmt.Errorf("cloud %q has no %s endpoint in %s: set region_name in clouds.yaml or cloud.region in the inventory (%v)", c.name, service, region, err)
}

// cloudsError shortens gophercloud's clouds.yaml errors.
func cloudsError(err error) string {
	msg := err.Error()
	return msg + " (clouds.yaml is read from ./, ~/.config/openstack/, /etc/openstack/ or $OS_CLIENT_CONFIG_FILE)"
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// envCloud is the clouds.yaml document equivalent to the OS_* variables.
func envCloud() ([]byte, error) {
	env := func(names ...string) string {
		for _, n := range names {
			if v := os.Getenv(n); v != "" {
				return v
			}
		}
		return ""
	}
	auth := &clouds.AuthInfo{
		AuthURL:                     env("OS_AUTH_URL"),
		Token:                       env("OS_TOKEN"),
		Username:                    env("OS_USERNAME"),
		UserID:                      env("OS_USER_ID"),
		Password:                    env("OS_PASSWORD"),
		ApplicationCredentialID:     env("OS_APPLICATION_CREDENTIAL_ID"),
		ApplicationCredentialName:   env("OS_APPLICATION_CREDENTIAL_NAME"),
		ApplicationCredentialSecret: env("OS_APPLICATION_CREDENTIAL_SECRET"),
		SystemScope:                 env("OS_SYSTEM_SCOPE"),
		ProjectName:                 env("OS_PROJECT_NAME", "OS_TENANT_NAME"),
		ProjectID:                   env("OS_PROJECT_ID", "OS_TENANT_ID"),
		UserDomainName:              env("OS_USER_DOMAIN_NAME"),
		UserDomainID:                env("OS_USER_DOMAIN_ID"),
		ProjectDomainName:           env("OS_PROJECT_DOMAIN_NAME"),
		ProjectDomainID:             env("OS_PROJECT_DOMAIN_ID"),
		DomainName:                  env("OS_DOMAIN_NAME"),
		DomainID:                    env("OS_DOMAIN_ID"),
	}
	c := clouds.Cloud{
		AuthInfo:   auth,
		RegionName: env("OS_REGION_NAME"),
		Interface:  env("OS_INTERFACE", "OS_ENDPOINT_TYPE"),
		CACertFile: env("OS_CACERT"),
	}
	return yaml.Marshal(clouds.Clouds{Clouds: map[string]clouds.Cloud{"envvars": c}})
}
