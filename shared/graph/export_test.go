package graph

import (
	"context"

	"github.com/waes/onboarding/shared/onboarding"
)

// StaticAppSecret returns an Options.AppSecret that always answers secret.
func StaticAppSecret(secret onboarding.Secret) func(context.Context) (onboarding.Secret, error) {
	return func(context.Context) (onboarding.Secret, error) { return secret, nil }
}

// IsCode reports whether err is a Graph error with the given code.
func IsCode(err error, code int) bool {
	ge, ok := AsError(err)
	return ok && ge.Code == code
}
