// Command token_health is the scheduled token health check: EventBridge Scheduler invokes it (daily by
// default) and it asks Meta's debug_token about every onboarded WABA's business token and about the
// partner's system token, publishing token.invalid / token.expiring and marking onboardings
// reauth_required (shared/tokenhealth). The schedule's payload is ignored.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/waes/onboarding/shared/awswire"
	"github.com/waes/onboarding/shared/catalog"
	"github.com/waes/onboarding/shared/tokenhealth"
)

func main() {
	d := awswire.MustLoad(catalog.Lookup("token_health").Needs)
	checker, err := d.TokenHealth()
	if err != nil {
		d.Fatal("building the token health check", err)
	}
	lambda.Start(awswire.Handler(func(ctx context.Context, _ json.RawMessage) (tokenhealth.Report, error) {
		return checker.Run(ctx)
	}))
}
