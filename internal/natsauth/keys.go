package natsauth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
)

// SeedDir is the directory, under the data directory, that holds the seed
// files of the users that connect from other processes.
const SeedDir = "nats"

// SeedFile is the path of user name's nkey seed under dataDir.
func SeedFile(dataDir, name string) string {
	return filepath.Join(dataDir, SeedDir, name+".nk")
}

// Defaults are the users `junction serve` always knows besides the
// configured ones: the generic webhook adapter (publishing webhookSources,
// working the webhook destination), a router, a gateway and a subscriber
// reading every event, so a standalone webhook-adapter, `junction
// router|gateway --nats-url` and a user's service can connect to the
// embedded NATS with the files serve writes.
func Defaults(webhookSources []string) []User {
	return []User{
		{Name: "webhook", Role: RoleAdapter, Sources: webhookSources},
		{Name: "router", Role: RoleRouter},
		{Name: "gateway", Role: RoleGateway},
		{Name: "subscriber", Role: RoleSubscriber},
	}
}

// Merge returns defaults with the configured users added; a configured
// user replaces the default of the same name.
func Merge(defaults, configured []User) []User {
	out := slices.Clone(defaults)
	for _, u := range configured {
		i := slices.IndexFunc(out, func(d User) bool { return d.Name == u.Name })
		if i >= 0 {
			out[i] = u
		} else {
			out = append(out, u)
		}
	}
	return out
}

// Keys are the users of an embedded server: those of other processes,
// with seed files, and those in process, with keys held in memory only.
type Keys struct {
	users    []*server.NkeyUser
	roles    []User // of users, in order
	files    map[string]string
	internal map[string]nkeys.KeyPair
}

// Setup loads or creates a seed file under dataDir for each of external
// (mode 0600, in a 0700 directory; an existing one is kept, so running
// clients still authenticate after a restart) and creates in-memory keys
// for internal, users that may connect only in process.
func Setup(dataDir string, external, internal []User) (*Keys, error) {
	return SetupIn(filepath.Join(dataDir, SeedDir), external, internal)
}

// SetupIn is Setup with the seed files directly in seedDir.
func SetupIn(seedDir string, external, internal []User) (*Keys, error) {
	k := &Keys{files: map[string]string{}, internal: map[string]nkeys.KeyPair{}}
	seen := map[string]bool{}
	for _, u := range external {
		if err := u.Validate(); err != nil {
			return nil, err
		}
		if seen[u.Name] {
			return nil, fmt.Errorf("nats_users: %q is named twice", u.Name)
		}
		seen[u.Name] = true
		path := filepath.Join(seedDir, u.Name+".nk")
		kp, err := loadOrCreate(path)
		if err != nil {
			return nil, fmt.Errorf("nats user %s: %w", u.Name, err)
		}
		pub, err := kp.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("nats user %s: %w", u.Name, err)
		}
		kp.Wipe()
		k.users = append(k.users, NkeyUser(u, pub, false))
		k.roles = append(k.roles, u)
		k.files[u.Name] = path
	}
	for _, u := range internal {
		kp, err := nkeys.CreateUser()
		if err != nil {
			return nil, fmt.Errorf("in-process nats user %s: %w", u.Name, err)
		}
		pub, err := kp.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("in-process nats user %s: %w", u.Name, err)
		}
		k.users = append(k.users, NkeyUser(u, pub, true))
		k.roles = append(k.roles, u)
		k.internal[u.Name] = kp
	}
	return k, nil
}

// ServerUsers are the users to give the server (server.Options.Nkeys).
func (k *Keys) ServerUsers() []*server.NkeyUser { return k.users }

// Files maps each external user's name to its seed file.
func (k *Keys) Files() map[string]string { return k.files }

// InProcess returns the options that authenticate the internal user name
// on an in-process connection to ns, with its own inbox prefix.
func (k *Keys) InProcess(ns *server.Server, name string) ([]nats.Option, error) {
	kp, ok := k.internal[name]
	if !ok {
		return nil, fmt.Errorf("no in-process nats user %q", name)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, err
	}
	return []nats.Option{
		nats.InProcessServer(ns),
		nats.Nkey(pub, kp.Sign),
		nats.CustomInboxPrefix(topology.InboxPrefix(name)),
	}, nil
}

// loadOrCreate reads the user seed at path, or writes a new one there.
func loadOrCreate(path string) (nkeys.KeyPair, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("seed file %s is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
		}
		kp, err := nkeys.ParseDecoratedNKey(b)
		if err != nil {
			return nil, fmt.Errorf("seed file %s: not an nkey seed: %w", path, err)
		}
		if pub, err := kp.PublicKey(); err != nil || !nkeys.IsValidPublicUserKey(pub) {
			return nil, fmt.Errorf("seed file %s: not a user nkey seed (it starts with SU)", path)
		}
		return kp, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read seed file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create seed directory: %w", err)
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		return nil, err
	}
	seed, err := kp.Seed()
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create seed file: %w", err)
	}
	_, werr := f.Write(append(seed, '\n'))
	if err := errors.Join(werr, f.Close()); err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("write seed file %s: %w", path, err)
	}
	return kp, nil
}
