package deploycheck

import (
	"bufio"
	"crypto/x509"
	"encoding/pem"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"
)

// nkeySeed matches an nkey seed ("S" then the key type, base32).
var nkeySeed = regexp.MustCompile(`\bS[UAONC][A-Z2-7]{56}\b`)

// TestDeployHoldsNoSecrets walks every committed file under deploy/ (the
// git-ignored deploy/secrets/ that gen-certs.sh fills is skipped) and fails
// on a private key, an nkey seed or a Standard Webhooks secret.
func TestDeployHoldsNoSecrets(t *testing.T) {
	root := deployPath(t)
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path == filepath.Join(root, "secrets") {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		rel, _ := filepath.Rel(root, path)
		text := string(b)
		if strings.Contains(text, "PRIVATE KEY-----") {
			t.Errorf("deploy/%s holds a private key; reference a Secret or a file made by deploy/gen-certs.sh", rel)
		}
		if m := nkeySeed.FindString(text); m != "" {
			t.Errorf("deploy/%s holds an nkey seed (%s...)", rel, m[:4])
		}
		if regexp.MustCompile(`whsec_[A-Za-z0-9+/]{20,}`).MatchString(text) {
			t.Errorf("deploy/%s holds a whsec_ secret; take it from the environment or a Secret", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("checked %d files under deploy/, want them all", checked)
	}
	b, err := os.ReadFile(filepath.Join(repoRoot(t), ".gitignore"))
	if err != nil || !strings.Contains(string(b), "/deploy/secrets/") {
		t.Errorf(".gitignore does not ignore /deploy/secrets/, where gen-certs.sh writes keys (%v)", err)
	}
}

// TestGenCerts runs deploy/gen-certs.sh into a copy of deploy/ and checks
// what it makes: certificates chained to its CA with the names the
// deployment files dial, keys that stay private, and nkey seeds whose
// public keys are the ones nats-users.env gives auth.conf.
func TestGenCerts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs openssl and builds nk")
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed")
	}
	dir := t.TempDir()
	cmd := exec.Command("sh", deployPath(t, "gen-certs.sh"))
	cmd.Env = append(os.Environ(), "JUNCTION_PUBLIC_HOSTS=hooks.example.com", "JUNCTION_SECRETS_DIR="+filepath.Join(dir, "secrets"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gen-certs.sh: %v\n%s", err, out)
	}
	sec := filepath.Join(dir, "secrets")
	if fi, err := os.Stat(sec); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("deploy/secrets: %v, mode %v; want a directory only its owner can enter", err, fi.Mode().Perm())
	}
	roots := x509.NewCertPool()
	caPEM, err := os.ReadFile(filepath.Join(sec, "ca.pem"))
	if err != nil || !roots.AppendCertsFromPEM(caPEM) {
		t.Fatalf("ca.pem: %v", err)
	}
	for name, hosts := range map[string][]string{
		"nats-1": {"nats-1"}, "nats-2": {"nats-2"}, "nats-3": {"nats-3"},
		"gateway":         {"gateway", "junction-gateway.junction.svc", "127.0.0.1", "hooks.example.com"},
		"webhook-adapter": {"webhook-adapter", "junction-webhook-adapter.junction.svc", "hooks.example.com"},
		"client":          nil,
	} {
		b, err := os.ReadFile(filepath.Join(sec, name+".crt"))
		if err != nil {
			t.Errorf("%s.crt: %v", name, err)
			continue
		}
		block, _ := pem.Decode(b)
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Errorf("%s.crt: %v", name, err)
			continue
		}
		for _, h := range hosts {
			if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: h, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				t.Errorf("%s.crt as %s: %v", name, h, err)
			}
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s.crt as a client (NATS routes, mutual TLS): %v", name, err)
		}
	}
	env, err := os.Open(filepath.Join(sec, "nats-users.env"))
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	pubs := map[string]string{}
	sc := bufio.NewScanner(env)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		pubs[k] = v
	}
	for _, r := range natsRoles {
		file := map[string]string{"router": "router.nk", "gateway": "gateway.nk", "webhook": "webhook-adapter.nk"}[r.name]
		seed, err := os.ReadFile(filepath.Join(sec, file))
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		kp, err := nkeys.FromSeed([]byte(strings.TrimSpace(string(seed))))
		if err != nil {
			t.Errorf("%s is not an nkey seed: %v", file, err)
			continue
		}
		if pub, _ := kp.PublicKey(); pubs[r.env] != pub {
			t.Errorf("nats-users.env %s=%q, want %s's public key %s", r.env, pubs[r.env], file, pub)
		}
	}
}
