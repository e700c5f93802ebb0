package gitlabtest

import "testing"

// FuzzEvalIf feeds arbitrary rules:if expressions to the fake's evaluator:
// it must never panic or loop, and a negated equality always disagrees with
// the equality it negates.
func FuzzEvalIf(f *testing.F) {
	f.Add(`$CHATOPS_JOB == "deploy"`, "deploy")
	f.Add(`$CHATOPS_JOB != "deploy" && $X == null`, "x")
	f.Add(`($CHATOPS_JOB == 'a' || $CHATOPS_JOB == "b") && $CI_PIPELINE_SOURCE == "api"`, "b")
	f.Add(`$CHATOPS_JOB =~ /dep.*/`, "deploy")
	f.Add(`((((`, "")
	f.Add(`"unterminated`, "")
	f.Fuzz(func(t *testing.T, expr, job string) {
		vars := map[string]string{"CHATOPS_JOB": job, "CI_PIPELINE_SOURCE": "api"}
		_ = evalIf(expr, vars)
		eq := evalIf(`$CHATOPS_JOB == "`+sanitize(job)+`"`, vars)
		ne := evalIf(`$CHATOPS_JOB != "`+sanitize(job)+`"`, vars)
		if eq == ne && sanitize(job) == job {
			t.Fatalf("job %q: == %v and != %v", job, eq, ne)
		}
	})
}

// sanitize removes quotes and whitespace, which a quoted literal in the
// evaluator's subset cannot contain.
func sanitize(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '"' || r == '\'' || r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			continue
		}
		out = append(out, r)
	}
	return string(out)
}
