package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/chatops-dev/chatops/bot/config"
)

// The deploy/ folder cannot be run here (no Docker engine, no cluster):
// these tests check what can be checked without one, that the manifest
// says what README promises and that its configuration loads.

type k8sProbe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		Replicas     int `yaml:"replicas"`
		MinAvailable int `yaml:"minAvailable"`
		Selector     struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				SecurityContext struct {
					RunAsNonRoot bool `yaml:"runAsNonRoot"`
					RunAsUser    int  `yaml:"runAsUser"`
				} `yaml:"securityContext"`
				Containers []struct {
					Args  []string `yaml:"args"`
					Ports []struct {
						Name          string `yaml:"name"`
						ContainerPort int    `yaml:"containerPort"`
					} `yaml:"ports"`
					Env []struct {
						Name      string `yaml:"name"`
						ValueFrom struct {
							SecretKeyRef struct {
								Name string `yaml:"name"`
								Key  string `yaml:"key"`
							} `yaml:"secretKeyRef"`
						} `yaml:"valueFrom"`
					} `yaml:"env"`
					VolumeMounts []struct {
						Name      string `yaml:"name"`
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
					ReadinessProbe k8sProbe `yaml:"readinessProbe"`
					LivenessProbe  k8sProbe `yaml:"livenessProbe"`
					Resources      struct {
						Requests map[string]string `yaml:"requests"`
					} `yaml:"resources"`
				} `yaml:"containers"`
				Volumes []struct {
					Name      string `yaml:"name"`
					ConfigMap struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

func TestDeployKubernetesManifest(t *testing.T) {
	raw, err := os.ReadFile("deploy/kubernetes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs := map[string]k8sObject{}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for {
		var o k8sObject
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("deploy/kubernetes.yaml: %v", err)
		}
		objs[o.Kind] = o
	}
	dep, ok := objs["Deployment"]
	if !ok {
		t.Fatal("no Deployment")
	}
	if dep.Spec.Replicas != 3 {
		t.Errorf("replicas: %d, want 3", dep.Spec.Replicas)
	}
	pod := dep.Spec.Template.Spec
	if !pod.SecurityContext.RunAsNonRoot || pod.SecurityContext.RunAsUser == 0 {
		t.Errorf("the pod may run as root: %+v", pod.SecurityContext)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if p := c.ReadinessProbe.HTTPGet; p.Path != "/readyz" || p.Port != "http" {
		t.Errorf("readiness probe %+v, want /readyz on port http", p)
	}
	if p := c.LivenessProbe.HTTPGet; p.Path != "/healthz" || p.Port != "http" {
		t.Errorf("liveness probe %+v, want /healthz on port http", p)
	}
	if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" {
		t.Errorf("resource requests %v, want cpu and memory", c.Resources.Requests)
	}
	env := map[string]bool{}
	storeFromSecret := false
	for _, e := range c.Env {
		env[e.Name] = true
		if e.ValueFrom.SecretKeyRef.Name == "" {
			t.Errorf("env %s is not taken from a Secret", e.Name)
		}
		storeFromSecret = storeFromSecret || e.Name == "CHATOPS_STORE_URL"
	}
	if !storeFromSecret {
		t.Error("no CHATOPS_STORE_URL from a Secret")
	}

	// The configuration comes from the ConfigMap, mounted where args say.
	cm, ok := objs["ConfigMap"]
	if !ok {
		t.Fatal("no ConfigMap")
	}
	mounted := false
	for _, v := range pod.Volumes {
		for _, m := range c.VolumeMounts {
			if v.Name == m.Name && v.ConfigMap.Name == cm.Metadata.Name &&
				strings.Join(c.Args, " ") == "-config "+m.MountPath+"/chatops.toml" {
				mounted = true
			}
		}
	}
	if !mounted {
		t.Errorf("args %q do not point at the ConfigMap %s's chatops.toml", c.Args, cm.Metadata.Name)
	}
	text := cm.Data["chatops.toml"]
	// Every ${VAR} it names is set from the Secret, so start-up finds it.
	for _, m := range regexp.MustCompile(`\$\{(\w+)\}`).FindAllStringSubmatch(text, -1) {
		if !env[m[1]] {
			t.Errorf("chatops.toml refers to ${%s}, which the container's env does not set", m[1])
		}
	}
	cfg, err := config.Parse(text, func(name string) (string, bool) {
		if name == "CHATOPS_STORE_URL" {
			return "postgres://chatops:pw@postgres/chatops", true
		}
		return "secret-" + name, env[name]
	})
	if err != nil {
		t.Fatalf("the ConfigMap's chatops.toml: %v", err)
	}
	if cfg.Store.URL == "" {
		t.Error("the ConfigMap's chatops.toml has no [store] url: replicas need PostgreSQL")
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || !strings.HasSuffix(cfg.HTTP.Addr, ":"+strconv.Itoa(c.Ports[0].ContainerPort)) {
		t.Errorf("container ports %+v do not match [http] addr %q", c.Ports, cfg.HTTP.Addr)
	}

	pdb, ok := objs["PodDisruptionBudget"]
	if !ok {
		t.Fatal("no PodDisruptionBudget")
	}
	if pdb.Spec.MinAvailable < 1 || pdb.Spec.MinAvailable >= dep.Spec.Replicas {
		t.Errorf("PodDisruptionBudget minAvailable %d, want between 1 and %d", pdb.Spec.MinAvailable, dep.Spec.Replicas-1)
	}
	for k, v := range pdb.Spec.Selector.MatchLabels {
		if dep.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("PodDisruptionBudget selects %s=%s, which the pods do not carry", k, v)
		}
	}
}

// TestDeployDockerfile checks the image definition's promises as text:
// a Go 1.26 build of a static binary, a final image without a shell that
// runs as a non-root user, started with the path the manifest mounts.
func TestDeployDockerfile(t *testing.T) {
	raw, err := os.ReadFile("deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	var froms []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.HasPrefix(line, "FROM ") {
			froms = append(froms, line)
		}
	}
	if len(froms) != 2 || !strings.HasPrefix(froms[0], "FROM golang:1.26 ") || !strings.Contains(froms[1], "distroless/static") {
		t.Errorf("stages %q, want a golang:1.26 build and a distroless/static image", froms)
	}
	for _, want := range []string{"CGO_ENABLED=0", "USER 65532:65532", `CMD ["-config", "/etc/chatops/chatops.toml"]`} {
		if !strings.Contains(s, want) {
			t.Errorf("deploy/Dockerfile lacks %s", want)
		}
	}
}
