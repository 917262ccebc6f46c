package explorer_test

import (
	"context"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/explorer"
	"github.com/chainnet/chainnet/internal/nodetest"
	"github.com/chainnet/chainnet/internal/wire"
)

func get(t *testing.T, srv *httptest.Server, path string) (int, string) {
	t.Helper()
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if loc := resp.Header.Get("Location"); loc != "" {
		return resp.StatusCode, loc
	}
	return resp.StatusCode, string(b)
}

// TestPagesShowTheChain: the explorer renders a real node's blocks, a transfer, an account and
// errors, with links between them.
func TestPagesShowTheChain(t *testing.T) {
	n := nodetest.New(t)
	defer n.Close()
	env := chaintest.New(t)
	tx := env.Transfer(env.Alice, env.Bob, 777, 3, 0)
	var last *wire.Block
	for i := 0; i < 3; i++ {
		var txs []*wire.Tx
		if i == 1 {
			txs = append(txs, tx)
		}
		last = chaintest.BuildBlock(t, n.Chain(), wire.ZeroHash, env.Miner, txs...)
		if _, err := n.ProcessBlock(context.Background(), last); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(explorer.Handler("/explorer/", n, nil))
	defer srv.Close()

	code, body := get(t, srv, "/explorer/")
	if code != 200 || !strings.Contains(body, "Latest blocks") || !strings.Contains(body, `href="/explorer/block/3"`) {
		t.Fatalf("index: %d\n%s", code, body)
	}
	code, body = get(t, srv, "/explorer/block/2")
	if code != 200 || !strings.Contains(body, tx.ID().String()[:8]) || !strings.Contains(body, "transfer") {
		t.Fatalf("block page: %d", code)
	}
	code, body = get(t, srv, "/explorer/block/"+last.Hash().String())
	if code != 200 || !strings.Contains(body, "Block 3") {
		t.Fatalf("block by hash: %d", code)
	}
	code, body = get(t, srv, "/explorer/tx/"+tx.ID().String())
	if code != 200 || !strings.Contains(body, "mined in block") || !strings.Contains(body, "777") {
		t.Fatalf("tx page: %d\n%s", code, body)
	}
	code, body = get(t, srv, "/explorer/account/"+env.Bob.Address())
	if code != 200 || !strings.Contains(body, "<td>777</td>") {
		t.Fatalf("account page: %d\n%s", code, body)
	}
	if code, _ = get(t, srv, "/explorer/block/999"); code != 404 {
		t.Fatalf("unknown block: %d, want 404", code)
	}
	if code, _ = get(t, srv, "/explorer/tx/zz"); code != 400 {
		t.Fatalf("malformed id: %d, want 400", code)
	}
	if code, loc := get(t, srv, "/explorer/search?q="+tx.ID().String()); code != 303 || loc != "/explorer/tx/"+tx.ID().String() {
		t.Fatalf("search for a tx id: %d %s", code, loc)
	}
	if _, body = get(t, srv, "/explorer/block/%3Cscript%3E"); strings.Contains(body, "<script>") {
		t.Fatal("user input must be escaped")
	}
}

// TestScreenshotInHeadlessChromium renders the front page in a real browser (Debian's chromium,
// headless) and checks the screenshot is a non-trivial PNG; set EXPLORER_SCREENSHOT to keep it.
func TestScreenshotInHeadlessChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (apt-get install chromium)")
	}
	n := nodetest.New(t)
	defer n.Close()
	env := chaintest.New(t)
	for i := 0; i < 5; i++ {
		var txs []*wire.Tx
		if i == 2 {
			txs = append(txs, env.Transfer(env.Alice, env.Bob, 1000, 5, 0))
		}
		b := chaintest.BuildBlock(t, n.Chain(), wire.ZeroHash, env.Miner, txs...)
		if _, err := n.ProcessBlock(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(explorer.Handler("/explorer/", n, nil))
	defer srv.Close()
	out := os.Getenv("EXPLORER_SCREENSHOT")
	if out == "" {
		out = filepath.Join(t.TempDir(), "explorer.png")
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,900",
		"--screenshot="+out, srv.URL+"/explorer/")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 900 {
		t.Fatalf("screenshot %v", b)
	}
	// The page is not blank: the dark header band and the white tables both appear.
	dark, light := 0, 0
	for y := 0; y < 900; y += 10 {
		for x := 0; x < 1280; x += 10 {
			r, g, b, _ := img.At(x, y).RGBA()
			switch l := (r + g + b) / 3 >> 8; {
			case l < 60:
				dark++
			case l > 240:
				light++
			}
		}
	}
	if dark < 100 || light < 1000 {
		t.Fatalf("screenshot looks blank: %d dark, %d light samples", dark, light)
	}
}
