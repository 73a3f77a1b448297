// Command record_outcome is the workflow's bookkeeping: it records a skipped step, a caught failure, or the completion.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/waes/onboarding/shared/awswire"
	"github.com/waes/onboarding/shared/catalog"
)

func main() {
	d := awswire.MustLoad(catalog.Lookup("record_outcome").Needs)
	svc, err := d.Steps()
	if err != nil {
		d.Fatal("building the steps service", err)
	}
	lambda.Start(awswire.Handler(svc.RecordOutcome))
}
