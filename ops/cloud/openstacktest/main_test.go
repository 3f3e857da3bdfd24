package openstacktest

import "testing"

// TestMain starts the real OpenStack services (openstack.sh) unless they run.
func TestMain(m *testing.M) { Main(m) }
