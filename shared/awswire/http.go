package awswire

import (
	"net"
	"net/http"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// awsHTTPClient is the SDK's HTTP client with explicit timeouts: a connect timeout, a response-header
// timeout, and an overall per-attempt timeout, so that no AWS call can hang an invocation.
func awsHTTPClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().
		WithTimeout(awsCallTimeout).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = 3 * time.Second }).
		WithTransportOptions(func(t *http.Transport) {
			t.ResponseHeaderTimeout = 5 * time.Second
			t.TLSHandshakeTimeout = 3 * time.Second
			t.MaxIdleConnsPerHost = 16
		})
}
