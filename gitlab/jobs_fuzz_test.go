package gitlab

import (
	"strings"
	"testing"
)

// FuzzParseCIConfig feeds arbitrary merged YAML to the job lookup: it must
// never panic, and every job it finds is hidden exactly when its name starts
// with a dot (hidden jobs must never be runnable from chat).
func FuzzParseCIConfig(f *testing.F) {
	f.Add("hello-world:\n  script: [echo hi]\n  rules:\n    - if: $CHATOPS_JOB == \"hello-world\"\n")
	f.Add(".tmpl:\n  script: [x]\ndeploy:\n  extends: .tmpl\n  except: [chat]\n")
	f.Add("job:\n  except:\n    refs: [chat]\n  variables:\n    CHATOPS_HELP: {value: says hi, description: d}\n")
	f.Add("stages: [a]\nvariables: {A: b}\n")
	f.Add("- not a mapping\n")
	f.Add("a: &x {script: [y]}\nb: *x\n")
	f.Fuzz(func(t *testing.T, src string) {
		c, err := parseCIConfig(src)
		if err != nil {
			return
		}
		for name, j := range c.jobs {
			if j.Hidden != strings.HasPrefix(name, ".") {
				t.Fatalf("job %q: hidden=%v", name, j.Hidden)
			}
		}
		for _, n := range c.runnable() {
			if j := c.jobs[n]; j == nil || j.Hidden || j.ExceptChat {
				t.Fatalf("runnable lists %q", n)
			}
		}
	})
}
