package runner

import (
	"net/http"

	"github.com/waes/onboarding/shared/httpapi"
	"github.com/waes/onboarding/shared/onboarding"
)

// simUserMessages serves POST /_local/sim/messages: a simulated WhatsApp user messages a business number,
// and the embedded simulator sends the signed inbound webhook to /webhooks (graphsim.UserMessagesHandler).
// Against a Graph API in another process there is no simulated user to drive: 404.
func (r *Runner) simUserMessages() http.Handler {
	if r.Sim == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			httpapi.WriteError(w, http.StatusNotFound, onboarding.CodeNotFound, "", "the Graph API is not simulated by this runner (GRAPH_BASE_URL is set): there are no simulated users to drive")
		})
	}
	return r.Sim.UserMessagesHandler()
}
