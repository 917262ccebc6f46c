package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func flags() (*pflag.FlagSet, *string, *int, *bool, *[]string) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	addr := fs.String("api-addr", "127.0.0.1:8545", "")
	threads := fs.Int("miner-threads", 0, "")
	mine := fs.Bool("mine", false, "")
	peers := fs.StringArray("bootstrap", nil, "")
	return fs, addr, threads, mine, peers
}

func writeFile(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, []byte(body), 0o600)
	return p
}

func TestPrecedence(t *testing.T) {
	path := writeFile(t, "api-addr: 0.0.0.0:1\nminer-threads: 3\nmine: true\nbootstrap: [a:1, b:2]\n")
	t.Setenv("CHAINNODE_MINER_THREADS", "5")
	fs, addr, threads, mine, peers := flags()
	if err := fs.Parse([]string{"--api-addr", "flag:9"}); err != nil {
		t.Fatal(err)
	}
	if err := Apply(fs, "CHAINNODE", path); err != nil {
		t.Fatal(err)
	}
	if *addr != "flag:9" || *threads != 5 || !*mine || strings.Join(*peers, ",") != "a:1,b:2" {
		t.Fatalf("addr=%s threads=%d mine=%v peers=%v", *addr, *threads, *mine, *peers)
	}
}

func TestEnvListIsCommaSeparated(t *testing.T) {
	t.Setenv("CHAINNODE_BOOTSTRAP", "x:1, y:2")
	fs, _, _, _, peers := flags()
	fs.Parse(nil)
	if err := Apply(fs, "CHAINNODE", ""); err != nil {
		t.Fatal(err)
	}
	if strings.Join(*peers, ",") != "x:1,y:2" {
		t.Fatalf("peers %v", *peers)
	}
}

func TestBadFilesNameTheKey(t *testing.T) {
	for body, want := range map[string]string{
		"api-adr: x\n":          `unknown key "api-adr"`,
		"miner-threads: many\n": `key "miner-threads"`,
		"mine: {a: 1}\n":        `key "mine"`,
		": : :\n":               "config file",
	} {
		fs, _, _, _, _ := flags()
		fs.Parse(nil)
		err := Apply(fs, "CHAINNODE", writeFile(t, body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want it to mention %s", body, err, want)
		}
	}
}
