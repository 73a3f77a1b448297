package stack_test

import (
	"slices"
	"testing"

	"github.com/waes/onboarding/infra/cdk/stack"
	"github.com/waes/onboarding/shared/catalog"
	ddbschema "github.com/waes/onboarding/shared/store/dynamodb/schema"
)

func TestTokenHealthSchedule(t *testing.T) {
	s := dev(t)
	fnID, _ := s.function(t, "token_health")
	_, sched := s.only(t, "AWS::Scheduler::Schedule")
	p := props(sched)
	target := obj(p["Target"])
	checks := []struct {
		what      string
		got, want any
	}{
		{"ScheduleExpression", p["ScheduleExpression"], stack.DefaultTokenHealthSchedule},
		{"ScheduleExpressionTimezone", p["ScheduleExpressionTimezone"], "UTC"},
		{"State", p["State"], "ENABLED"},
		{"FlexibleTimeWindow.Mode", obj(p["FlexibleTimeWindow"])["Mode"], "OFF"},
		{"Target.Arn", getAtt(target["Arn"], "Arn"), fnID},
		{"Target.RetryPolicy.MaximumRetryAttempts", obj(target["RetryPolicy"])["MaximumRetryAttempts"], float64(2)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}

	roleID := getAtt(target["RoleArn"], "Arn")
	role := obj(s.resources("AWS::IAM::Role")[roleID])
	if role == nil {
		t.Fatalf("schedule role %q: not in the template", roleID)
	}
	t.Run("role trusts only this account's schedules", func(t *testing.T) {
		stmts := list(obj(props(role)["AssumeRolePolicyDocument"])["Statement"])
		if len(stmts) != 1 {
			t.Fatalf("trust statements: got %s", render(stmts))
		}
		st := obj(stmts[0])
		if got := render(obj(st["Principal"])["Service"]); got != "scheduler.amazonaws.com" {
			t.Errorf("trusted service: got %s", got)
		}
		if got := render(obj(obj(st["Condition"])["StringEquals"])["aws:SourceAccount"]); got != "<AWS::AccountId>" {
			t.Errorf("aws:SourceAccount condition: got %s, want the stack's account", got)
		}
	})
	t.Run("role invokes exactly token_health", func(t *testing.T) {
		var statements []map[string]any
		for _, pol := range s.resources("AWS::IAM::Policy") {
			if roles := list(props(pol)["Roles"]); len(roles) == 1 && ref(roles[0]) == roleID {
				for _, st := range list(obj(props(pol)["PolicyDocument"])["Statement"]) {
					statements = append(statements, obj(st))
				}
			}
		}
		if len(statements) != 1 {
			t.Fatalf("statements of the schedule role: got %d, want 1", len(statements))
		}
		st := statements[0]
		if got := render(st["Action"]); got != "lambda:InvokeFunction" {
			t.Errorf("actions: got %s", got)
		}
		if res := list(st["Resource"]); len(res) != 1 || getAtt(res[0], "Arn") != fnID {
			t.Errorf("resources: got %s, want token_health's ARN only", render(res))
		}
	})
}

func TestTokenHealthScansOnlyTheWABAIndex(t *testing.T) {
	s := dev(t)
	tableID, _ := s.only(t, "AWS::DynamoDB::Table")
	scanners := map[string][]string{}
	for _, pol := range s.resources("AWS::IAM::Policy") {
		for _, st := range list(obj(props(pol)["PolicyDocument"])["Statement"]) {
			stmt := obj(st)
			if !slices.Contains(list(stmt["Action"]), any("dynamodb:Scan")) {
				continue
			}
			for _, r := range list(stmt["Resource"]) {
				scanners[render(list(props(pol)["Roles"])[0])] = append(scanners[render(list(props(pol)["Roles"])[0])], render(r))
			}
		}
	}
	var wantScanners int
	for _, f := range catalog.Functions {
		if f.Needs.TableScan {
			wantScanners++
		}
	}
	if len(scanners) != wantScanners || wantScanners != 1 {
		t.Fatalf("roles that may Scan: got %v, want token_health's only", scanners)
	}
	for role, res := range scanners {
		if want := []string{"<" + tableID + ".Arn>/index/" + ddbschema.IndexGSI2}; !slices.Equal(res, want) {
			t.Errorf("%s may Scan %v, want %v", role, res, want)
		}
	}
}
