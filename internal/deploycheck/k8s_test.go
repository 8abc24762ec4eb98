package deploycheck

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// object is one Kubernetes manifest document, decoded loosely: only what
// the checks read.
type object struct {
	file       string
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string            `yaml:"name"`
		Namespace string            `yaml:"namespace"`
		Labels    map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"` // ConfigMap
	Spec struct {
		Replicas *int          `yaml:"replicas"` // Deployment
		Selector yaml.Node     `yaml:"selector"` // Deployment: matchLabels; Service: a map
		Template podTemplate   `yaml:"template"`
		Ports    []servicePort `yaml:"ports"` // Service
		Type     string        `yaml:"type"`  // Service
	} `yaml:"spec"`
}

type podTemplate struct {
	Metadata struct {
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec struct {
		Containers []k8sContainer `yaml:"containers"`
		Volumes    []k8sVolume    `yaml:"volumes"`
	} `yaml:"spec"`
}

type k8sVolume struct {
	Name      string `yaml:"name"`
	ConfigMap *struct {
		Name string `yaml:"name"`
	} `yaml:"configMap"`
	Secret *struct {
		SecretName string `yaml:"secretName"`
	} `yaml:"secret"`
}

type k8sContainer struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			ConfigMapKeyRef *keyRef `yaml:"configMapKeyRef"`
			SecretKeyRef    *keyRef `yaml:"secretKeyRef"`
			FieldRef        *struct {
				FieldPath string `yaml:"fieldPath"`
			} `yaml:"fieldRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	EnvFrom []struct {
		ConfigMapRef *struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
		SecretRef *struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
	LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
	StartupProbe   *k8sProbe `yaml:"startupProbe"`
	VolumeMounts   []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		SubPath   string `yaml:"subPath"`
	} `yaml:"volumeMounts"`
}

type keyRef struct {
	Name string `yaml:"name"`
	Key  string `yaml:"key"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path   string    `yaml:"path"`
		Port   yaml.Node `yaml:"port"`
		Scheme string    `yaml:"scheme"`
	} `yaml:"httpGet"`
	GRPC *struct {
		Port    int    `yaml:"port"`
		Service string `yaml:"service"`
	} `yaml:"grpc"`
	TCPSocket *struct {
		Port yaml.Node `yaml:"port"`
	} `yaml:"tcpSocket"`
	Exec *struct {
		Command []string `yaml:"command"`
	} `yaml:"exec"`
}

type servicePort struct {
	Name       string    `yaml:"name"`
	Port       int       `yaml:"port"`
	TargetPort yaml.Node `yaml:"targetPort"`
}

// loadK8s reads every manifest that kustomization.yaml lists, checking the
// list is exactly the manifests in deploy/k8s.
func loadK8s(t testing.TB) []*object {
	t.Helper()
	dir := deployPath(t, "k8s")
	var kust struct {
		Resources []string `yaml:"resources"`
		Images    []struct {
			Name string `yaml:"name"`
		} `yaml:"images"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &kust); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	var manifests []string
	for _, f := range files {
		if base := filepath.Base(f); base != "kustomization.yaml" {
			manifests = append(manifests, base)
		}
	}
	if got := slices.Sorted(slices.Values(kust.Resources)); !slices.Equal(got, manifests) {
		t.Errorf("kustomization.yaml resources %v, want every manifest in deploy/k8s: %v", got, manifests)
	}
	var objs []*object
	for _, name := range kust.Resources {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("kustomization.yaml lists %s: %v", name, err)
			continue
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for i := 0; ; i++ {
			var raw yaml.Node
			err := dec.Decode(&raw)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("deploy/k8s/%s document %d: %v", name, i, err)
			}
			o := &object{file: fmt.Sprintf("%s#%d", name, i)}
			if err := raw.Decode(o); err != nil {
				t.Fatalf("deploy/k8s/%s document %d: %v", name, i, err)
			}
			objs = append(objs, o)
		}
	}
	images := map[string]bool{}
	for _, o := range objs {
		for _, c := range o.Spec.Template.Spec.Containers {
			images[strings.SplitN(c.Image, ":", 2)[0]] = true
		}
	}
	for _, img := range kust.Images {
		if !images[img.Name] {
			t.Errorf("kustomization.yaml images: %s is not used by any container", img.Name)
		}
	}
	return objs
}

func TestK8s(t *testing.T) {
	objs := loadK8s(t)
	byKind := map[string]map[string]*object{}
	namespace := ""
	for _, o := range objs {
		if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
			t.Errorf("%s: apiVersion %q, kind %q, metadata.name %q: all three are required", o.file, o.APIVersion, o.Kind, o.Metadata.Name)
			continue
		}
		if byKind[o.Kind] == nil {
			byKind[o.Kind] = map[string]*object{}
		}
		if _, dup := byKind[o.Kind][o.Metadata.Name]; dup {
			t.Errorf("%s: a second %s %s", o.file, o.Kind, o.Metadata.Name)
		}
		byKind[o.Kind][o.Metadata.Name] = o
		if o.Kind == "Namespace" {
			namespace = o.Metadata.Name
		}
	}
	if namespace == "" {
		t.Fatal("no Namespace")
	}
	for _, o := range objs {
		if o.Kind != "Namespace" && o.Metadata.Namespace != namespace {
			t.Errorf("%s: %s %s is in namespace %q, want %q", o.file, o.Kind, o.Metadata.Name, o.Metadata.Namespace, namespace)
		}
	}

	configMaps := byKind["ConfigMap"]
	deployments := byKind["Deployment"]
	for want, replicas := range map[string]int{"junction-router": 2, "junction-gateway": 1, "junction-webhook-adapter": 1} {
		d, ok := deployments[want]
		if !ok {
			t.Errorf("no Deployment %s", want)
			continue
		}
		if got := d.Spec.Replicas; got == nil || *got != replicas {
			t.Errorf("Deployment %s: replicas %s, want %d", want, intOrUnset(got), replicas)
		}
	}

	// Services route to a Deployment's named container ports.
	servicePorts := map[string][]int{} // Deployment -> container ports Services target
	for _, name := range keys(byKind["Service"]) {
		s := byKind["Service"][name]
		if s.Spec.Type != "" && s.Spec.Type != "ClusterIP" {
			t.Errorf("Service %s: type %s exposes it beyond the cluster; keep ClusterIP and put a TLS Ingress in front of what must be public", name, s.Spec.Type)
		}
		var sel map[string]string
		if err := s.Spec.Selector.Decode(&sel); err != nil || len(sel) == 0 {
			t.Errorf("Service %s: selector %v: want labels", name, err)
			continue
		}
		var target *object
		for _, d := range deployments {
			if subset(sel, d.Spec.Template.Metadata.Labels) {
				if target != nil {
					t.Errorf("Service %s selects both %s and %s", name, target.Metadata.Name, d.Metadata.Name)
				}
				target = d
			}
		}
		if target == nil {
			t.Errorf("Service %s: selector %v matches no Deployment's pods", name, sel)
			continue
		}
		for _, sp := range s.Spec.Ports {
			port, err := containerPort(target, sp.TargetPort)
			if err != nil {
				t.Errorf("Service %s port %s: targetPort: %v", name, sp.Name, err)
				continue
			}
			servicePorts[target.Metadata.Name] = append(servicePorts[target.Metadata.Name], port)
		}
	}

	tmp := t.TempDir()
	for _, name := range keys(deployments) {
		d := deployments[name]
		var sel struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		}
		if err := d.Spec.Selector.Decode(&sel); err != nil || len(sel.MatchLabels) == 0 || !subset(sel.MatchLabels, d.Spec.Template.Metadata.Labels) {
			t.Errorf("Deployment %s: selector.matchLabels %v must be non-empty and match the pod labels %v", name, sel.MatchLabels, d.Spec.Template.Metadata.Labels)
		}
		if len(d.Spec.Template.Spec.Containers) != 1 {
			t.Errorf("Deployment %s: %d containers, want 1", name, len(d.Spec.Template.Spec.Containers))
			continue
		}
		kc := d.Spec.Template.Spec.Containers[0]
		where := fmt.Sprintf("Deployment %s container %s", name, kc.Name)
		if err := pinned(kc.Image); err != nil {
			t.Errorf("%s: %v", where, err)
		}
		if len(kc.Command) == 0 {
			t.Errorf("%s: set command (the binary) explicitly; both binaries are in every image", where)
			continue
		}
		if !strings.HasPrefix(kc.Command[0], "/usr/local/bin/") {
			t.Errorf("%s: command %s: the Dockerfile installs the binaries in /usr/local/bin", where, kc.Command[0])
		}
		c := container{where: where, binary: path.Base(kc.Command[0]), args: append(slices.Clone(kc.Command[1:]), kc.Args...),
			env: map[string]string{}, files: map[string]string{}, ports: servicePorts[name]}
		for _, from := range kc.EnvFrom {
			switch {
			case from.ConfigMapRef != nil:
				cm, ok := configMaps[from.ConfigMapRef.Name]
				if !ok {
					t.Errorf("%s: envFrom ConfigMap %s does not exist", where, from.ConfigMapRef.Name)
					continue
				}
				maps.Copy(c.env, cm.Data)
			default:
				t.Errorf("%s: envFrom other than configMapRef hides which variables are set; use env with secretKeyRef", where)
			}
		}
		for _, e := range kc.Env {
			switch {
			case e.ValueFrom == nil:
				c.env[e.Name] = e.Value
			case e.ValueFrom.ConfigMapKeyRef != nil:
				ref := e.ValueFrom.ConfigMapKeyRef
				v, ok := configMaps[ref.Name].dataKey(ref.Key)
				if !ok {
					t.Errorf("%s: env %s: ConfigMap %s has no key %s", where, e.Name, ref.Name, ref.Key)
				}
				c.env[e.Name] = v
			case e.ValueFrom.SecretKeyRef != nil, e.ValueFrom.FieldRef != nil:
				c.env[e.Name] = "" // supplied by the cluster
			default:
				t.Errorf("%s: env %s: unsupported valueFrom", where, e.Name)
			}
		}
		for _, p := range kc.Ports {
			c.ports = append(c.ports, p.ContainerPort)
		}
		checkK8sCredentials(t, where, c, kc, d.Spec.Template.Spec.Volumes)
		for _, m := range kc.VolumeMounts {
			vol := slices.IndexFunc(d.Spec.Template.Spec.Volumes, func(v k8sVolume) bool { return v.Name == m.Name })
			if vol < 0 {
				t.Errorf("%s: volumeMount %s has no volume", where, m.Name)
				continue
			}
			v := d.Spec.Template.Spec.Volumes[vol]
			if v.ConfigMap == nil {
				continue
			}
			cm, ok := configMaps[v.ConfigMap.Name]
			if !ok {
				t.Errorf("%s: volume %s: ConfigMap %s does not exist", where, v.Name, v.ConfigMap.Name)
				continue
			}
			for key, data := range cm.Data {
				host := filepath.Join(tmp, v.ConfigMap.Name+"-"+key)
				if err := os.WriteFile(host, []byte(data), 0o600); err != nil {
					t.Fatal(err)
				}
				if m.SubPath == "" {
					c.files[path.Join(m.MountPath, key)] = host
				} else if m.SubPath == key {
					c.files[m.MountPath] = host
				}
			}
		}
		for _, pr := range []struct {
			name string
			p    *k8sProbe
		}{{"readinessProbe", kc.ReadinessProbe}, {"livenessProbe", kc.LivenessProbe}, {"startupProbe", kc.StartupProbe}} {
			if pr.p == nil {
				continue
			}
			switch {
			case pr.p.HTTPGet != nil:
				if tlsOn := c.env["JUNCTION_TLS_CERT_FILE"] != ""; tlsOn != (pr.p.HTTPGet.Scheme == "HTTPS") {
					t.Errorf("%s: %s scheme %q, but the listener serves TLS=%v; want HTTPS exactly when JUNCTION_TLS_CERT_FILE is set", where, pr.name, pr.p.HTTPGet.Scheme, tlsOn)
				}
				port, err := containerPort(d, pr.p.HTTPGet.Port)
				if err != nil {
					t.Errorf("%s: %s port: %v", where, pr.name, err)
					continue
				}
				c.probes = append(c.probes, probe{name: pr.name, path: pr.p.HTTPGet.Path, port: port})
			case pr.p.GRPC != nil:
				if c.env["JUNCTION_TLS_CERT_FILE"] != "" {
					t.Errorf("%s: %s is a gRPC probe, which the kubelet makes without TLS, on a TLS listener; use an HTTPS httpGet of /readyz or /healthz", where, pr.name)
				}
				if pr.p.GRPC.Service != "" {
					t.Errorf("%s: %s checks gRPC service %q; the gateway's health server is checked for \"\" here, extend the test for others", where, pr.name, pr.p.GRPC.Service)
				}
				c.probes = append(c.probes, probe{name: pr.name, grpc: true, port: pr.p.GRPC.Port})
			case pr.p.Exec != nil:
				t.Errorf("%s: %s runs %q, but the distroless image has no shell or tools", where, pr.name, pr.p.Exec.Command)
			default:
				t.Errorf("%s: %s: use httpGet or grpc", where, pr.name)
			}
		}
		if (c.binary == binAdapter) && (kc.ReadinessProbe == nil || kc.ReadinessProbe.HTTPGet == nil || kc.ReadinessProbe.HTTPGet.Path != "/readyz") {
			t.Errorf("%s: the adapter serves /readyz; use it as the readiness probe", where)
		}
		if len(c.args) > 0 && c.args[0] == "gateway" && kc.ReadinessProbe == nil {
			t.Errorf("%s: the gateway serves /readyz (and grpc.health.v1); use it as the readiness probe", where)
		}
		t.Run(name, func(t *testing.T) { checkContainer(t, c) })
	}

	// The shared settings: R3 needs the NATS cluster the Helm values make.
	env := configMaps["junction-env"]
	if env == nil {
		t.Fatal("no ConfigMap junction-env")
	}
	replicas, err := strconv.Atoi(env.Data["JUNCTION_REPLICAS"])
	if err != nil || replicas != 3 {
		t.Errorf("junction-env JUNCTION_REPLICAS=%q, want 3 on a NATS cluster", env.Data["JUNCTION_REPLICAS"])
	}
	checkHelmValues(t, replicas)
}

func intOrUnset(p *int) string {
	if p == nil {
		return "unset"
	}
	return strconv.Itoa(*p)
}

// dataKey returns a ConfigMap's key; a nil ConfigMap has none.
func (o *object) dataKey(key string) (string, bool) {
	if o == nil {
		return "", false
	}
	v, ok := o.Data[key]
	return v, ok
}

// containerPort resolves a port given by number or by a container port's
// name in d's (single) container.
func containerPort(d *object, n yaml.Node) (int, error) {
	ports := d.Spec.Template.Spec.Containers[0].Ports
	if p, err := strconv.Atoi(n.Value); err == nil {
		return p, nil
	}
	for _, p := range ports {
		if p.Name == n.Value {
			return p.ContainerPort, nil
		}
	}
	return 0, fmt.Errorf("%q is neither a number nor a container port name of %s", n.Value, d.Metadata.Name)
}

// subset says whether every label of sel is in labels.
func subset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// checkHelmValues checks the NATS chart values make a JetStream cluster
// big enough for the streams' replicas, with a file store.
func checkHelmValues(t *testing.T, replicas int) {
	t.Helper()
	b, err := os.ReadFile(deployPath(t, "k8s", "helm", "nats-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Config struct {
			Cluster struct {
				Enabled  bool `yaml:"enabled"`
				Replicas int  `yaml:"replicas"`
				TLS      struct {
					Enabled    bool           `yaml:"enabled"`
					SecretName string         `yaml:"secretName"`
					Merge      map[string]any `yaml:"merge"`
				} `yaml:"tls"`
			} `yaml:"cluster"`
			NATS struct {
				TLS struct {
					Enabled    bool   `yaml:"enabled"`
					SecretName string `yaml:"secretName"`
				} `yaml:"tls"`
			} `yaml:"nats"`
			Merge     map[string]any `yaml:"merge"`
			JetStream struct {
				Enabled   bool `yaml:"enabled"`
				FileStore struct {
					Enabled bool `yaml:"enabled"`
					PVC     struct {
						Enabled bool `yaml:"enabled"`
					} `yaml:"pvc"`
				} `yaml:"fileStore"`
			} `yaml:"jetstream"`
		} `yaml:"config"`
	}
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("helm/nats-values.yaml: %v", err)
	}
	c := v.Config
	if !c.Cluster.Enabled || c.Cluster.Replicas < replicas {
		t.Errorf("helm/nats-values.yaml: cluster enabled=%v replicas=%d, want a cluster of at least %d for R%d streams", c.Cluster.Enabled, c.Cluster.Replicas, replicas, replicas)
	}
	if !c.JetStream.Enabled || !c.JetStream.FileStore.Enabled || !c.JetStream.FileStore.PVC.Enabled {
		t.Errorf("helm/nats-values.yaml: want JetStream on with a file store on a PVC; got %+v", c.JetStream)
	}
	// Closed, as deploy/nats/*.conf: TLS for clients, mutual TLS for
	// routes, and the nkey users of auth.conf.
	if !c.NATS.TLS.Enabled || c.NATS.TLS.SecretName == "" {
		t.Error("helm/nats-values.yaml: config.nats.tls is off; clients must use TLS")
	}
	if !c.Cluster.TLS.Enabled || c.Cluster.TLS.SecretName == "" || c.Cluster.TLS.Merge["verify"] != true {
		t.Error("helm/nats-values.yaml: config.cluster.tls is not mutual TLS (enabled, a secretName, merge.verify: true)")
	}
	if inc, _ := c.Merge["$include"].(string); !strings.HasSuffix(inc, "auth.conf") {
		t.Errorf("helm/nats-values.yaml: config.merge does not $include auth.conf (got %v); anonymous clients would get in", c.Merge)
	}
}

// checkK8sCredentials checks a Junction container runs closed: it reaches
// NATS with its own nkey over TLS, the gateway and the adapter serve TLS,
// and every credential file it names lies in a mounted Secret volume
// (never a ConfigMap, never a literal in the manifest).
func checkK8sCredentials(t *testing.T, where string, c container, kc k8sContainer, vols []k8sVolume) {
	t.Helper()
	inSecret := func(file string) bool {
		for _, m := range kc.VolumeMounts {
			i := slices.IndexFunc(vols, func(v k8sVolume) bool { return v.Name == m.Name })
			if i >= 0 && vols[i].Secret != nil && strings.HasPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/") {
				return true
			}
		}
		return false
	}
	need := []string{"JUNCTION_NATS_NKEY", "JUNCTION_NATS_CA"}
	if c.binary == binAdapter || (len(c.args) > 0 && c.args[0] == "gateway") {
		need = append(need, "JUNCTION_TLS_CERT_FILE", "JUNCTION_TLS_KEY_FILE")
	}
	for _, v := range need {
		if f := c.env[v]; f == "" || !inSecret(f) {
			t.Errorf("%s: %s=%q is not a file in a mounted Secret", where, v, f)
		}
	}
}
