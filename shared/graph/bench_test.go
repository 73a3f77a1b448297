package graph_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/graphsim"
)

// BenchmarkClientRoundTrip measures one full round trip of each main call: validation, request, the
// simulator on a loopback httptest server, response decoding. Ids that a call consumes (codes, register
// budget, attach-once credit) are prepared before the timer starts.
func BenchmarkClientRoundTrip(b *testing.B) {
	const waba, phone = "102290129340398", "106540352242922"
	ctx := context.Background()
	sys := secret(systemToken)
	setup := func(b *testing.B) (*graph.Client, *graphsim.Server) {
		sim, base := simulator(b, graphsim.Config{})
		c, err := graph.New(graph.Options{BaseEndpoint: base})
		if err != nil {
			b.Fatal(err)
		}
		return c, sim
	}
	run := func(name string, prepare func(b *testing.B, c *graph.Client, sim *graphsim.Server) func(i int) error) {
		b.Run(name, func(b *testing.B) {
			c, sim := setup(b)
			op := prepare(b, c, sim)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := op(i); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	id := func(prefix string, i int) string { return fmt.Sprintf("%s%09d", prefix, i) }

	run("ExchangeCode", func(b *testing.B, c *graph.Client, sim *graphsim.Server) func(int) error {
		codes := make([]string, b.N)
		for i := range codes {
			codes[i] = sim.IssueCode(waba, phone)
		}
		return func(i int) error {
			_, err := c.ExchangeCode(ctx, &graph.ExchangeCodeInput{AppID: graphsim.DefaultAppID, AppSecret: secret(appSecret), Code: secret(codes[i])})
			return err
		}
	})
	run("DebugToken", func(b *testing.B, c *graph.Client, sim *graphsim.Server) func(int) error {
		tok := secret(sim.IssueToken(waba, phone))
		return func(int) error {
			_, err := c.DebugToken(ctx, &graph.DebugTokenInput{InputToken: tok, AccessToken: sys})
			return err
		}
	})
	run("ListPhoneNumbers", func(b *testing.B, c *graph.Client, sim *graphsim.Server) func(int) error {
		tok := secret(sim.IssueToken(waba, phone))
		return func(int) error {
			_, err := c.ListPhoneNumbers(ctx, &graph.ListPhoneNumbersInput{WABAID: waba, AccessToken: tok})
			return err
		}
	})
	run("GetPhoneNumber", func(b *testing.B, c *graph.Client, sim *graphsim.Server) func(int) error {
		tok := secret(sim.IssueToken(waba, phone))
		return func(int) error {
			_, err := c.GetPhoneNumber(ctx, &graph.GetPhoneNumberInput{PhoneNumberID: phone, AccessToken: tok})
			return err
		}
	})
	run("SubscribeApp", func(b *testing.B, c *graph.Client, sim *graphsim.Server) func(int) error {
		tok := secret(sim.IssueToken(waba, phone))
		return func(int) error {
			return c.SubscribeApp(ctx, &graph.SubscribeAppInput{WABAID: waba, AccessToken: tok})
		}
	})
	run("ListSubscribedApps", func(b *testing.B, c *graph.Client, sim *graphsim.Server) func(int) error {
		tok := secret(sim.IssueToken(waba, phone))
		if err := c.SubscribeApp(ctx, &graph.SubscribeAppInput{WABAID: waba, AccessToken: tok}); err != nil {
			b.Fatal(err)
		}
		return func(int) error {
			_, err := c.ListSubscribedApps(ctx, &graph.ListSubscribedAppsInput{WABAID: waba, AccessToken: tok})
			return err
		}
	})
	run("AssignUser", func(b *testing.B, c *graph.Client, sim *graphsim.Server) func(int) error {
		for i := 0; i < b.N; i++ {
			sim.IssueToken(id("2", i), "")
		}
		return func(i int) error {
			return c.AssignUser(ctx, &graph.AssignUserInput{WABAID: id("2", i), UserID: graphsim.DefaultSystemUserID, AccessToken: sys})
		}
	})
	run("ShareCreditLine", func(b *testing.B, c *graph.Client, sim *graphsim.Server) func(int) error {
		for i := 0; i < b.N; i++ {
			sim.IssueToken(id("2", i), "")
			if err := c.AssignUser(ctx, &graph.AssignUserInput{WABAID: id("2", i), UserID: graphsim.DefaultSystemUserID, AccessToken: sys}); err != nil {
				b.Fatal(err)
			}
		}
		return func(i int) error {
			_, err := c.ShareCreditLine(ctx, &graph.ShareCreditLineInput{CreditLineID: graphsim.DefaultCreditLineID, WABAID: id("2", i), Currency: "USD", AccessToken: sys})
			return err
		}
	})
	run("GetAllocationConfig+GetWABA", func(b *testing.B, c *graph.Client, sim *graphsim.Server) func(int) error {
		sim.IssueToken(waba, phone)
		_ = c.AssignUser(ctx, &graph.AssignUserInput{WABAID: waba, UserID: graphsim.DefaultSystemUserID, AccessToken: sys})
		out, err := c.ShareCreditLine(ctx, &graph.ShareCreditLineInput{CreditLineID: graphsim.DefaultCreditLineID, WABAID: waba, Currency: "USD", AccessToken: sys})
		if err != nil {
			b.Fatal(err)
		}
		return func(int) error {
			a, err := c.GetAllocationConfig(ctx, &graph.GetAllocationConfigInput{AllocationConfigID: out.AllocationConfigID, AccessToken: sys})
			if err != nil {
				return err
			}
			w, err := c.GetWABA(ctx, &graph.GetWABAInput{WABAID: waba, AccessToken: sys})
			if err == nil && w.PrimaryFundingID != a.ReceivingCredentialID {
				err = fmt.Errorf("credit check mismatch")
			}
			return err
		}
	})
	run("RegisterPhone", func(b *testing.B, c *graph.Client, sim *graphsim.Server) func(int) error {
		for i := 0; i < b.N; i++ {
			sim.SetPhone(id("3", i), graphsim.PhoneState{WABAID: waba, PlatformType: "NOT_APPLICABLE", Status: "DISCONNECTED"})
		}
		return func(i int) error {
			return c.RegisterPhone(ctx, &graph.RegisterPhoneInput{PhoneNumberID: id("3", i), PIN: secret(pin), AccessToken: sys})
		}
	})
	run("SendTextMessage", func(b *testing.B, c *graph.Client, sim *graphsim.Server) func(int) error {
		tok := secret(sim.IssueToken(waba, phone))
		if err := c.RegisterPhone(ctx, &graph.RegisterPhoneInput{PhoneNumberID: phone, PIN: secret(pin), AccessToken: tok}); err != nil {
			b.Fatal(err)
		}
		return func(int) error {
			_, err := c.SendTextMessage(ctx, &graph.SendTextMessageInput{PhoneNumberID: phone, To: graphsim.DefaultTesterNumber,
				Body: "Message received, loud and clear!", AccessToken: tok})
			return err
		}
	})
}

// BenchmarkErrorPath measures a Graph error answer: envelope decoding, classification and sanitising.
func BenchmarkErrorPath(b *testing.B) {
	sim, base := simulator(b, graphsim.Config{})
	c, err := graph.New(graph.Options{BaseEndpoint: base})
	if err != nil {
		b.Fatal(err)
	}
	tok := secret(sim.IssueToken("102290129340398", "106540352242922"))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, err := c.GetWABA(ctx, &graph.GetWABAInput{WABAID: "999", AccessToken: tok})
		if !graph.IsCode(err, 100) {
			b.Fatal(err)
		}
	}
}
