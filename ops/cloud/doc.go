// Package cloud drives the OpenStack cloud that hubs run on, through
// gophercloud: authentication the OpenStack way (clouds.yaml and secure.yaml
// in the standard locations, OS_CLOUD, OS_* variables; password or
// application credential), the keypair and security group hubs need, the
// servers themselves, their console logs, and errors that say in one line what
// to change. Requests that the cloud refuses for a while (429, 503) are retried
// with backoff honouring Retry-After. Credentials are never printed or logged.
package cloud
