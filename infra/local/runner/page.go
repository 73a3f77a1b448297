package runner

import (
	"net/http"
	"net/url"

	"github.com/waes/onboarding/shared/httpapi"
	"github.com/waes/onboarding/web"
	"github.com/waes/onboarding/web/localsdk"
)

// LocalConfigID is the Embedded Signup configuration id the example page is given in local mode.
const LocalConfigID = "000000000000000"

// servePage adds the example partner page (package web) at / (GET /, /index.html, /app.js, /config.js,
// /style.css; the API's routes are disjoint and keep their own answers). When the Graph API is simulated
// (GRAPH_BASE_URL unset or loopback), the page gets a config.js of the runner's that loads the stand-in for
// Meta's SDK, served with its simulated signup popup and POST /_local/codes (package web/localsdk); the
// page's own files are unchanged. Against the real Graph API, or when the runner does not listen on
// loopback (the local routes are off: localRoutesAllowed), the committed config.js is served as is.
func (r *Runner) servePage(mux *http.ServeMux) {
	opts := web.Options{}
	if r.localRoutes {
		issue := localsdk.SimCodes
		if r.Sim != nil {
			issue = r.Sim.IssueCode // fresh codes: valid 30 seconds, once, as at Meta
		}
		opts.Config = &web.Config{
			AppID: r.cfg.App.AppID, ConfigID: LocalConfigID, APIBaseURL: "",
			GraphAPIVersion: r.cfg.GraphAPIVersion, SDKURL: localsdk.SDKPath,
		}
		sdk := httpapi.Middleware(r.log, loopbackHostOnly(localsdk.Handler(issue)))
		for _, p := range localsdk.Paths {
			mux.Handle(p, sdk)
		}
	}
	page := httpapi.Middleware(r.log, web.Handler(opts))
	for _, p := range web.Paths {
		mux.Handle("GET "+p, page)
	}
}

func loopbackURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && isLoopback(u.Hostname())
}
