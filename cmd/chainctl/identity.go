package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/keys"
)

// An organization's identity file (a join request) is the same document everywhere: `chainctl gov
// join-request` and `kubectl chainnet join-request` print it, `chainctl gov propose add-org` and
// `kubectl chainnet propose add-org` read it, and spec.governance.proposals[].addOrganization holds
// it. It carries public keys only, plus the P2P endpoints of the organization's nodes (not chain
// state: other clusters dial them).

// readIdentity reads an identity file, JSON or YAML, refusing unknown fields (a typo would
// otherwise drop a key silently). "-" reads standard input.
func readIdentity(path string, stdin io.Reader) (*chainv1.OrganizationIdentity, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(stdin, 1<<20))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("request: %w", err)
	}
	id := &chainv1.OrganizationIdentity{}
	if err := yaml.UnmarshalStrict(b, id); err != nil {
		return nil, fmt.Errorf("request %s: %w", path, err)
	}
	if _, err := identityOrganization(id); err != nil {
		return nil, fmt.Errorf("request %s: %w", path, err)
	}
	if err := checkEndpoints(id.Endpoints); err != nil {
		return nil, fmt.Errorf("request %s: %w", path, err)
	}
	return id, nil
}

var orgName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// identityOrganization is an identity as chain membership. It checks what does not depend on the
// network's policy, naming the field that fails; the node judges the rest (limits, keys another
// member holds).
func identityOrganization(id *chainv1.OrganizationIdentity) (governance.Organization, error) {
	org := governance.Organization{Name: id.Name}
	if !orgName.MatchString(id.Name) {
		return org, fmt.Errorf("name %q: must be 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit", id.Name)
	}
	var err error
	if org.AdminKey, err = governance.ParseKey(id.AdminKey); err != nil {
		return org, fmt.Errorf("adminKey: %w", err)
	}
	for _, l := range []struct {
		field string
		from  []string
		to    *[]governance.Key
	}{{"validators", id.Validators, &org.Validators}, {"observers", id.Observers, &org.Observers}, {"miners", id.Miners, &org.Miners}} {
		for i, s := range l.from {
			k, err := governance.ParseKey(s)
			if err != nil {
				return org, fmt.Errorf("%s[%d]: %w", l.field, i, err)
			}
			*l.to = append(*l.to, k)
		}
	}
	switch {
	case len(org.Validators)+len(org.Observers) == 0:
		return org, fmt.Errorf("organization %s: at least one validator or observer is required", id.Name)
	case len(org.Validators) > 0 && len(org.Miners) == 0:
		return org, fmt.Errorf("organization %s: validators need at least one miner key (their blocks would be invalid)", id.Name)
	}
	return org, nil
}

// publicKeyArg is a public key given on the command line: 64 hex digits, or a key file whose
// public half is taken (the private half is never printed).
func publicKeyArg(s string) (string, error) {
	if k, err := governance.ParseKey(s); err == nil {
		return k.String(), nil
	}
	k, err := keys.Load(s)
	if err != nil {
		return "", fmt.Errorf("%q is neither 64 hex digits nor a key file: %w", s, err)
	}
	return k.NodeID(), nil
}

// writeIdentity prints an identity as a YAML file another member can use, or as JSON.
func (g *globals) writeIdentity(w io.Writer, id *chainv1.OrganizationIdentity, comment string) error {
	if g.output == "json" {
		return g.print(w, id, nil)
	}
	b, err := yaml.Marshal(id)
	if err != nil {
		return err
	}
	if comment != "" {
		fmt.Fprint(w, comment)
	}
	_, err = w.Write(b)
	return err
}

// checkEndpoints checks P2P endpoints as nodes take them: HOST:PORT#NODEID.
func checkEndpoints(endpoints []string) error {
	for i, e := range endpoints {
		addr, id, ok := strings.Cut(e, "#")
		if !ok {
			return fmt.Errorf("endpoints[%d] %q: want HOST:PORT#NODEID", i, e)
		}
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
			return fmt.Errorf("endpoints[%d] %q: want HOST:PORT#NODEID", i, e)
		}
		if _, err := governance.ParseKey(id); err != nil {
			return fmt.Errorf("endpoints[%d]: node id: %w", i, err)
		}
	}
	return nil
}
