package stephandlers

import (
	"context"
	"fmt"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/onboarding"
)

// SubscribeWebhooks subscribes the partner's app to the customer WABA's webhooks. With a per-WABA callback
// override configured it subscribes with an empty body first and sets the override in a second call (Meta
// refuses both at once with error 100), then reads the subscription back. It reads the subscription before
// writing, so a re-run changes nothing at Meta.
func (s *Service) SubscribeWebhooks(ctx context.Context, in Input) (Output, error) {
	return s.run(ctx, in, onboarding.StepSubscribeWebhooks, false, s.subscribeWebhooks)
}

func (s *Service) subscribeWebhooks(ctx context.Context, run *stepRun) (outcome, error) {
	rec := run.rec
	cfg, err := s.appConfig(ctx)
	if err != nil {
		return outcome{}, err
	}
	token, err := s.businessToken(ctx, rec)
	if err != nil {
		return outcome{}, err
	}
	override := s.config.WebhookOverrideURL

	current, err := s.ourSubscription(ctx, rec.WABAID, cfg.AppID, token)
	if err != nil {
		return outcome{}, err
	}
	if current != nil && (override == "" || current.OverrideCallbackURI == override) {
		return succeeded("app already subscribed"), nil
	}
	if current == nil {
		if err := s.graph.SubscribeApp(ctx, &graph.SubscribeAppInput{WABAID: rec.WABAID, AccessToken: token}); err != nil {
			return outcome{}, err
		}
		if err := run.save(ctx, func(r *onboarding.Record) error { r.Progress.SubscribedApp = true; return nil }); err != nil {
			return outcome{}, err
		}
	}
	if override != "" {
		err := s.graph.SubscribeApp(ctx, &graph.SubscribeAppInput{
			WABAID: rec.WABAID, AccessToken: token, OverrideCallbackURI: override, VerifyToken: cfg.WebhookVerifyToken,
		})
		if err != nil {
			return outcome{}, err
		}
		if err := run.save(ctx, func(r *onboarding.Record) error { r.Progress.OverrideSet = true; return nil }); err != nil {
			return outcome{}, err
		}
	}

	// Read back: Meta must list our app (with the override) before the step counts as done.
	got, err := s.ourSubscription(ctx, rec.WABAID, cfg.AppID, token)
	if err != nil {
		return outcome{}, err
	}
	switch {
	case got == nil:
		return outcome{}, transient(onboarding.CodeSubscriptionCheck, "the app is not listed in subscribed_apps after subscribing")
	case override != "" && got.OverrideCallbackURI != override:
		return outcome{}, transient(onboarding.CodeSubscriptionCheck,
			fmt.Sprintf("subscribed_apps shows callback override %q, want %q", got.OverrideCallbackURI, override))
	}
	if override != "" {
		return succeeded("subscribed with callback override"), nil
	}
	return succeeded(""), nil
}

// ourSubscription returns the partner app's entry in the WABA's subscribed_apps, or nil.
func (s *Service) ourSubscription(ctx context.Context, wabaID, appID string, token onboarding.Secret) (*graph.SubscribedApp, error) {
	out, err := s.graph.ListSubscribedApps(ctx, &graph.ListSubscribedAppsInput{WABAID: wabaID, AccessToken: token})
	if err != nil {
		return nil, err
	}
	for i := range out.Apps {
		if out.Apps[i].AppID == appID {
			return &out.Apps[i], nil
		}
	}
	return nil, nil
}
