package main

import (
	"github.com/spf13/pflag"

	"github.com/junctionhq/junction/adapters/sdk"
)

// natsFlags are the credential and TLS flags of a NATS connection, shared
// by serve (for --nats-url), router and gateway. They name files, never
// secrets: a password or token comes from a file or JUNCTION_NATS_PASSWORD
// / JUNCTION_NATS_TOKEN.
type natsFlags struct {
	creds, nkey, user, passwordFile, tokenFile, ca, cert, key, serverName, inboxPrefix string
}

// register adds the flags to fs.
func (n *natsFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&n.creds, "nats-creds", "", "NATS credentials file (user JWT and seed) (env "+sdk.EnvNATSCreds+")")
	fs.StringVar(&n.nkey, "nats-nkey", "", "NATS user nkey seed file, e.g. <data_dir>/nats/router.nk written by serve (env "+sdk.EnvNATSNkey+")")
	fs.StringVar(&n.user, "nats-user", "", "NATS user name; password from --nats-password-file or "+sdk.EnvNATSPassword+" (env "+sdk.EnvNATSUser+")")
	fs.StringVar(&n.passwordFile, "nats-password-file", "", "file holding the NATS user's password (env "+sdk.EnvNATSPasswordFile+")")
	fs.StringVar(&n.tokenFile, "nats-token-file", "", "file holding a NATS auth token; or the token in "+sdk.EnvNATSToken+" (env "+sdk.EnvNATSTokenFile+")")
	fs.StringVar(&n.ca, "nats-ca", "", "PEM CA bundle to verify the NATS server; turns TLS on (env "+sdk.EnvNATSCA+")")
	fs.StringVar(&n.cert, "nats-cert", "", "client certificate for NATS mutual TLS (env "+sdk.EnvNATSCert+")")
	fs.StringVar(&n.key, "nats-key", "", "key of --nats-cert (env "+sdk.EnvNATSKey+")")
	fs.StringVar(&n.serverName, "nats-tls-server-name", "", "name expected in the NATS server's certificate (env "+sdk.EnvNATSTLSServerName+")")
	fs.StringVar(&n.inboxPrefix, "nats-inbox-prefix", "", "reply subject prefix; default that of the component's user, _INBOX_junction.<router|gateway> (env "+sdk.EnvNATSInboxPrefix+")")
}

// apply sets the fields of a whose flags were given, over file and env.
func (n *natsFlags) apply(fs *pflag.FlagSet, a *sdk.NATSAuth) {
	for name, v := range map[string]struct {
		field *string
		val   string
	}{
		"nats-creds":           {&a.CredsFile, n.creds},
		"nats-nkey":            {&a.NkeyFile, n.nkey},
		"nats-user":            {&a.User, n.user},
		"nats-password-file":   {&a.PasswordFile, n.passwordFile},
		"nats-token-file":      {&a.TokenFile, n.tokenFile},
		"nats-ca":              {&a.CAFile, n.ca},
		"nats-cert":            {&a.CertFile, n.cert},
		"nats-key":             {&a.KeyFile, n.key},
		"nats-tls-server-name": {&a.TLSServerName, n.serverName},
		"nats-inbox-prefix":    {&a.InboxPrefix, n.inboxPrefix},
	} {
		if fs.Changed(name) {
			*v.field = v.val
		}
	}
	if fs.Changed("nats-password-file") {
		a.PasswordEnv = ""
	}
	if fs.Changed("nats-token-file") {
		a.TokenEnv = ""
	}
}
