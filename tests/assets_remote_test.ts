import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { TemplateError } from "../common/errors.ts";
import { AssetResolver } from "../template/assets.ts";
import { addressRisk } from "../template/_remote.ts";
import { BLANK_IMAGE } from "../template/page_spec.ts";

/**
 * This Deno (2.9) leaves the ops and resources sanitizers off unless asked: turn
 * them on so a test fails if a download leaks a body, a client or a timer.
 */
const SANITIZED = { sanitizeOps: true, sanitizeResources: true };
const WHERE = "canvas.objects[2].src";
const PUBLIC_IP = "93.184.216.34";
const PNG = new Uint8Array(
  Buffer.from(BLANK_IMAGE.slice(BLANK_IMAGE.indexOf(",") + 1), "base64"),
);
const PNG_URL = `data:image/png;base64,${Buffer.from(PNG).toString("base64")}`;

interface Call {
  url: string;
  host: string | null;
  redirect: RequestRedirect | undefined;
  signal: boolean;
}

/** A fetch that answers from `route` and records what it was asked. */
function fakeFetch(
  route: (url: URL, call: Call) => Response | Promise<Response>,
) {
  const calls: Call[] = [];
  const fetch: typeof globalThis.fetch = (input, init) => {
    const call = {
      url: String(input),
      host: new Headers(init?.headers).get("host"),
      redirect: init?.redirect,
      signal: init?.signal instanceof AbortSignal,
    };
    calls.push(call);
    return Promise.resolve(route(new URL(call.url), call));
  };
  return { fetch, calls };
}

/** A resolver that answers from `table` (no entry: no addresses). */
function fakeDns(table: Record<string, string[]>) {
  const asked: string[] = [];
  const resolveDns = (host: string) => {
    asked.push(host);
    return Promise.resolve(table[host] ?? []);
  };
  return { resolveDns, asked };
}

function png(): Response {
  return new Response(PNG.slice(), {
    headers: { "content-type": "image/png" },
  });
}

function redirect(location: string, status = 302): Response {
  return new Response("moved", { status, headers: { location } });
}

/**
 * Asserts `promise` rejects with a TemplateError located at `WHERE`, its
 * message starting `prefix` and matching `pattern`.
 */
async function assertFails(
  promise: Promise<unknown>,
  { prefix, pattern }: { prefix: string; pattern?: RegExp },
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(
      error instanceof TemplateError,
      `expected TemplateError, got ${(error as Error).name}: ${
        (error as Error).message
      }`,
    );
    assert.equal(error.location.field, WHERE);
    assert.ok(
      error.message.startsWith(prefix),
      `"${error.message}" should start with "${prefix}"`,
    );
    if (pattern) assert.match(error.message, pattern);
    return true;
  });
}

// Remote sources off (the default) --------------------------------------------

Deno.test(
  "AssetResolver.imageDataUrl() refuses http, https, ftp and gopher by default",
  SANITIZED,
  async (t) => {
    const dns = fakeDns({ "img.example": [PUBLIC_IP] });
    const web = fakeFetch(png);
    const assets = new AssetResolver("/nonexistent-pressrun-dir", {
      resolveDns: dns.resolveDns,
      fetch: web.fetch,
    });
    const sources = [
      "http://img.example/a.png",
      "https://img.example/a.png",
      "HTTPS://IMG.EXAMPLE/a.png",
      "ftp://img.example/a.png",
      "gopher://img.example/a.png",
    ];
    for (const src of sources) {
      await t.step(src, async () => {
        await assertFails(assets.imageDataUrl(src, WHERE), {
          prefix: `${WHERE}: "${src}" is not allowed: `,
          pattern: /data: URLs or files in the template's folder/,
        });
      });
    }
    assert.deepEqual(dns.asked, []);
    assert.deepEqual(web.calls, []);
  },
);

// Hosts refused before any request ---------------------------------------------

Deno.test(
  "AssetResolver.imageDataUrl() with allowRemote refuses private, loopback and link-local hosts without asking DNS or the server",
  SANITIZED,
  async (t) => {
    const dns = fakeDns({});
    const web = fakeFetch(png);
    const assets = new AssetResolver("/nonexistent-pressrun-dir", {
      allowRemote: true,
      resolveDns: dns.resolveDns,
      fetch: web.fetch,
    });
    const cases: [string, string][] = [
      ["http://127.0.0.1/x.png", "127.0.0.1 is a loopback address"],
      ["http://127.1/x.png", "127.0.0.1 is a loopback address"],
      ["http://127.255.255.254/", "127.255.255.254 is a loopback address"],
      ["http://[::1]/x.png", "[::1] is a loopback address"],
      [
        "http://[::ffff:127.0.0.1]/x.png",
        "[::ffff:7f00:1] is a loopback address (IPv4-mapped 127.0.0.1)",
      ],
      [
        "http://169.254.169.254/latest/meta-data/",
        "169.254.169.254 is a link-local address",
      ],
      ["http://2130706433/x.png", "127.0.0.1 is a loopback address"],
      ["http://0x7f000001/x.png", "127.0.0.1 is a loopback address"],
      ["http://0x7f.1/x.png", "127.0.0.1 is a loopback address"],
      ["http://0177.0.0.1/x.png", "127.0.0.1 is a loopback address"],
      ["http://2852039166/", "169.254.169.254 is a link-local address"],
      ["http://10.0.0.1/x.png", "10.0.0.1 is a private address"],
      ["http://192.168.1.1/x.png", "192.168.1.1 is a private address"],
      ["http://172.16.0.1/x.png", "172.16.0.1 is a private address"],
      ["http://172.31.255.255/", "172.31.255.255 is a private address"],
      ["http://100.64.0.1/x.png", "100.64.0.1 is a carrier-grade NAT address"],
      ["http://[fe80::1]/x.png", "[fe80::1] is a link-local address"],
      ["http://[fd00::1]/x.png", "[fd00::1] is a unique-local address"],
      ["http://0.0.0.0/x.png", "0.0.0.0 is an unspecified address"],
      ["http://0/x.png", "0.0.0.0 is an unspecified address"],
      ["http://[::]/x.png", "[::] is an unspecified address"],
      ["http://224.0.0.1/", "224.0.0.1 is a multicast address"],
      ["http://255.255.255.255/", "255.255.255.255 is a broadcast address"],
      [
        "http://[64:ff9b::a00:1]/",
        "[64:ff9b::a00:1] is a private address (NAT64 10.0.0.1)",
      ],
      ["https://127.0.0.1/x.png", "127.0.0.1 is a loopback address"],
      ["HTTP://LOCALHOST:8080/x.png", "localhost is a loopback name"],
      ["http://localhost./x.png", "localhost. is a loopback name"],
      ["http://printer.localhost/", "printer.localhost is a loopback name"],
    ];
    for (const [src, reason] of cases) {
      await t.step(src, async () => {
        await assertFails(assets.imageDataUrl(src, WHERE), {
          prefix: `${WHERE}: "${src}" is refused: ${reason}`,
        });
      });
    }
    assert.deepEqual(dns.asked, []);
    assert.deepEqual(web.calls, []);
  },
);

Deno.test(
  "AssetResolver.imageDataUrl() with allowRemote refuses a name when any DNS answer is not public",
  SANITIZED,
  async (t) => {
    const dns = fakeDns({
      "inside.example": ["10.0.0.5"],
      "mixed.example": [PUBLIC_IP, "192.168.0.7"],
      "v6.example": ["2606:2800:220:1:248:1893:25c8:1946", "::1"],
      "mapped.example": ["::ffff:169.254.169.254"],
      "junk.example": ["not-an-address"],
    });
    const web = fakeFetch(png);
    const assets = new AssetResolver("/nonexistent-pressrun-dir", {
      allowRemote: true,
      resolveDns: dns.resolveDns,
      fetch: web.fetch,
    });
    const cases: [string, string][] = [
      [
        "http://inside.example/a.png",
        "inside.example resolves to 10.0.0.5, a private address",
      ],
      [
        "https://mixed.example/a.png",
        "mixed.example resolves to 192.168.0.7, a private address",
      ],
      [
        "http://v6.example/a.png",
        "v6.example resolves to ::1, a loopback address",
      ],
      [
        "http://mapped.example/a.png",
        "mapped.example resolves to ::ffff:169.254.169.254, a link-local address (IPv4-mapped 169.254.169.254)",
      ],
      [
        "http://junk.example/a.png",
        'junk.example resolves to "not-an-address", which is not an IP address',
      ],
      [
        "http://nowhere.example/a.png",
        "nowhere.example does not resolve to any address",
      ],
    ];
    for (const [src, reason] of cases) {
      await t.step(src, async () => {
        await assertFails(assets.imageDataUrl(src, WHERE), {
          prefix: `${WHERE}: "${src}" is refused: ${reason}`,
        });
      });
    }
    assert.deepEqual(web.calls, []);

    await t.step(
      "a failing resolver is a TemplateError naming the URL",
      async () => {
        const failing = new AssetResolver("/nonexistent-pressrun-dir", {
          allowRemote: true,
          resolveDns: () => Promise.reject(new Error("SERVFAIL")),
          fetch: web.fetch,
        });
        await assertFails(
          failing.imageDataUrl("http://img.example/a.png", WHERE),
          {
            prefix:
              `${WHERE}: cannot fetch "http://img.example/a.png": img.example could not be resolved (SERVFAIL)`,
          },
        );
      },
    );
  },
);

// Requests that go out ----------------------------------------------------------

Deno.test(
  "AssetResolver.imageDataUrl() with allowRemote fetches a public PNG from the checked address",
  SANITIZED,
  async (t) => {
    const dns = fakeDns({
      "img.example": [PUBLIC_IP],
      "v6.example": ["2606:2800:220:1:248:1893:25c8:1946"],
    });
    const web = fakeFetch(png);
    const assets = new AssetResolver("/nonexistent-pressrun-dir", {
      allowRemote: true,
      resolveDns: dns.resolveDns,
      fetch: web.fetch,
    });
    const cases: [string, Call][] = [
      ["http://img.example/pics/a.png?v=1", {
        url: `http://${PUBLIC_IP}/pics/a.png?v=1`,
        host: "img.example",
        redirect: "manual",
        signal: true,
      }],
      ["http://IMG.example:8080/a.png", {
        url: `http://${PUBLIC_IP}:8080/a.png`,
        host: "img.example:8080",
        redirect: "manual",
        signal: true,
      }],
      ["http://v6.example/a.png", {
        url: "http://[2606:2800:220:1:248:1893:25c8:1946]/a.png",
        host: "v6.example",
        redirect: "manual",
        signal: true,
      }],
      [`http://${PUBLIC_IP}/b.png`, {
        url: `http://${PUBLIC_IP}/b.png`,
        host: PUBLIC_IP,
        redirect: "manual",
        signal: true,
      }],
      // https cannot be pinned without breaking TLS: it goes to the name.
      ["https://img.example/a.png", {
        url: "https://img.example/a.png",
        host: null,
        redirect: "manual",
        signal: true,
      }],
    ];
    for (const [src, expected] of cases) {
      await t.step(src, async () => {
        web.calls.length = 0;
        assert.equal(await assets.imageDataUrl(src, WHERE), PNG_URL);
        assert.deepEqual(web.calls, [expected]);
      });
    }

    await t.step("a second use of a URL comes from the cache", async () => {
      web.calls.length = 0;
      dns.asked.length = 0;
      const src = "http://img.example/pics/a.png?v=1";
      assert.equal(await assets.imageDataUrl(src, WHERE), PNG_URL);
      assert.deepEqual(web.calls, []);
      assert.deepEqual(dns.asked, []);
    });
  },
);

Deno.test(
  "AssetResolver.imageDataUrl() with allowRemote follows up to 5 redirects and checks every hop",
  SANITIZED,
  async (t) => {
    const dns = fakeDns({
      "img.example": [PUBLIC_IP],
      "cdn.example": ["151.101.1.1"],
      "meta.example": ["169.254.169.254"],
    });
    const cancelled: string[] = [];
    const web = fakeFetch((url, call) => {
      const hop = /^\/hop(\d+)$/.exec(url.pathname);
      if (hop) {
        const n = Number(hop[1]);
        const body = new ReadableStream({
          cancel: () => void cancelled.push(call.url),
        });
        return new Response(body, {
          status: 302,
          headers: { location: n > 1 ? `/hop${n - 1}` : "/final.png" },
        });
      }
      switch (url.pathname) {
        case "/to-loopback":
          return redirect("http://127.0.0.1/");
        case "/to-decimal":
          return redirect("http://2130706433/x.png", 301);
        case "/to-v6":
          return redirect("http://[::1]:8080/x.png", 307);
        case "/to-meta":
          return redirect("http://meta.example/latest/meta-data/", 308);
        case "/to-file":
          return redirect("file:///etc/passwd");
        case "/to-FILE":
          return redirect("FILE:///etc/passwd");
        case "/to-private-relative":
          return redirect("//10.0.0.1/x.png", 303);
        case "/to-cdn":
          return redirect("https://cdn.example/y.png");
        case "/no-location":
          return new Response(null, { status: 302 });
        case "/final.png":
        case "/y.png":
          return png();
      }
      return new Response("not found", { status: 404 });
    });
    const assets = new AssetResolver("/nonexistent-pressrun-dir", {
      allowRemote: true,
      resolveDns: dns.resolveDns,
      fetch: web.fetch,
    });
    const refused: [string, string][] = [
      [
        "to-loopback",
        `redirects to "http://127.0.0.1/", and 127.0.0.1 is a loopback address`,
      ],
      [
        "to-decimal",
        `redirects to "http://127.0.0.1/x.png", and 127.0.0.1 is a loopback address`,
      ],
      [
        "to-v6",
        `redirects to "http://[::1]:8080/x.png", and [::1] is a loopback address`,
      ],
      [
        "to-meta",
        `redirects to "http://meta.example/latest/meta-data/", and meta.example resolves to 169.254.169.254, a link-local address`,
      ],
      [
        "to-file",
        `redirects to "file:///etc/passwd", and only http: and https: redirects are followed`,
      ],
      [
        "to-FILE",
        `redirects to "file:///etc/passwd", and only http: and https: redirects are followed`,
      ],
      [
        "to-private-relative",
        `redirects to "http://10.0.0.1/x.png", and 10.0.0.1 is a private address`,
      ],
      ["hop6", "it redirects more than 5 times"],
    ];
    for (const [path, reason] of refused) {
      await t.step(`${path} is refused`, async () => {
        web.calls.length = 0;
        const src = `http://img.example/${path}`;
        await assertFails(assets.imageDataUrl(src, WHERE), {
          prefix: `${WHERE}: "${src}" is refused: `,
          pattern: new RegExp(RegExp.escape(reason)),
        });
        // Nothing was sent to the refused hop.
        const sent = path === "hop6" ? 6 : 1;
        assert.equal(web.calls.length, sent, JSON.stringify(web.calls));
        assert.ok(
          web.calls.every((c) => c.url.startsWith(`http://${PUBLIC_IP}/`)),
        );
      });
    }

    await t.step("a redirect without a Location header fails", async () => {
      const src = "http://img.example/no-location";
      await assertFails(assets.imageDataUrl(src, WHERE), {
        prefix: `${WHERE}: cannot fetch "${src}": HTTP 302 without a Location`,
      });
    });

    await t.step("an HTTP error status fails", async () => {
      const src = "http://img.example/missing.png";
      await assertFails(assets.imageDataUrl(src, WHERE), {
        prefix: `${WHERE}: cannot fetch "${src}": the server answered HTTP 404`,
      });
    });

    await t.step("5 redirects are followed, each hop pinned", async () => {
      web.calls.length = 0;
      cancelled.length = 0;
      const src = "http://img.example/hop5";
      assert.equal(await assets.imageDataUrl(src, WHERE), PNG_URL);
      assert.deepEqual(web.calls.map((c) => c.url), [
        ...[5, 4, 3, 2, 1].map((n) => `http://${PUBLIC_IP}/hop${n}`),
        `http://${PUBLIC_IP}/final.png`,
      ]);
      assert.ok(web.calls.every((c) => c.host === "img.example"));
      // Every redirect's body was let go of.
      assert.equal(cancelled.length, 5);
    });

    await t.step("a redirect to another public host is followed", async () => {
      web.calls.length = 0;
      const src = "http://img.example/to-cdn";
      assert.equal(await assets.imageDataUrl(src, WHERE), PNG_URL);
      assert.deepEqual(web.calls.map((c) => c.url), [
        `http://${PUBLIC_IP}/to-cdn`,
        "https://cdn.example/y.png",
      ]);
    });
  },
);

Deno.test(
  "AssetResolver.imageDataUrl() with allowRemote refuses oversized, non-image and too-slow bodies",
  SANITIZED,
  async (t) => {
    const dns = fakeDns({ "img.example": [PUBLIC_IP] });
    let pulls = 0;
    const web = fakeFetch((url) => {
      switch (url.pathname) {
        case "/big.png": {
          // 1 KiB + 1 byte, in 100-byte chunks, with no Content-Length.
          let sent = 0;
          const body = new ReadableStream<Uint8Array>({
            pull(controller) {
              pulls++;
              const chunk = new Uint8Array(Math.min(100, 1025 - sent));
              if (sent === 0) chunk.set(PNG.subarray(0, 8));
              sent += chunk.byteLength;
              controller.enqueue(chunk);
              if (sent === 1025) controller.close();
            },
          });
          return new Response(body);
        }
        case "/declared-big.png":
          return new Response(
            new ReadableStream({
              pull: () => void pulls++,
            }),
            { headers: { "content-length": "5000000" } },
          );
        case "/just-fits.png": {
          const bytes = new Uint8Array(1024);
          bytes.set(PNG);
          return new Response(bytes);
        }
        case "/image.svg":
          return new Response(
            '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            { headers: { "content-type": "image/svg+xml" } },
          );
        case "/page.png":
          return new Response("<!doctype html><p>hello</p>", {
            headers: { "content-type": "image/png" },
          });
        case "/hang.png":
          return new Response(
            new ReadableStream({
              start: (controller) => controller.enqueue(PNG.subarray(0, 8)),
            }),
          );
        case "/never":
          return new Promise<Response>(() => {});
      }
      return new Response(null, { status: 404 });
    });
    const assets = new AssetResolver("/nonexistent-pressrun-dir", {
      allowRemote: true,
      maxBytes: 1024,
      timeoutMs: 150,
      resolveDns: dns.resolveDns,
      fetch: web.fetch,
    });

    await t.step("a body past maxBytes is a TemplateError", async () => {
      pulls = 0;
      const src = "http://img.example/big.png";
      await assertFails(assets.imageDataUrl(src, WHERE), {
        prefix:
          `${WHERE}: "${src}" is larger than the 1 KiB allowed for one asset`,
      });
      assert.ok(pulls <= 12, `read ${pulls} chunks`);
    });

    await t.step(
      "a Content-Length past maxBytes is refused unread",
      async () => {
        pulls = 0;
        const src = "http://img.example/declared-big.png";
        await assertFails(assets.imageDataUrl(src, WHERE), {
          prefix: `${WHERE}: "${src}" is larger than the 1 KiB`,
        });
        assert.ok(pulls <= 1, `read ${pulls} chunks`);
      },
    );

    await t.step("a body of exactly maxBytes passes", async () => {
      const url = await assets.imageDataUrl(
        "http://img.example/just-fits.png",
        WHERE,
      );
      assert.match(url, /^data:image\/png;base64,/);
    });

    await t.step(
      "an HTML page named .png is not an image we take",
      async () => {
        const src = "http://img.example/page.png";
        await assertFails(assets.imageDataUrl(src, WHERE), {
          prefix:
            `${WHERE}: "${src}" is not a PNG, JPEG, GIF, WebP or SVG image`,
        });
      },
    );

    await t.step("an SVG with no size is refused saying so", async () => {
      const src = "http://img.example/image.svg";
      await assertFails(assets.imageDataUrl(src, WHERE), {
        prefix: `${WHERE}: the SVG has no size`,
      });
    });

    for (const path of ["hang.png", "never"]) {
      await t.step(`${path} times out instead of hanging`, async () => {
        const src = `http://img.example/${path}`;
        const started = performance.now();
        await assertFails(assets.imageDataUrl(src, WHERE), {
          prefix: `${WHERE}: cannot fetch "${src}": no answer within 150 ms`,
        });
        const took = performance.now() - started;
        assert.ok(took >= 100 && took < 2000, `took ${took} ms`);
      });
    }

    await t.step("a resolver that never answers times out", async () => {
      const slow = new AssetResolver("/nonexistent-pressrun-dir", {
        allowRemote: true,
        timeoutMs: 100,
        resolveDns: () => new Promise<string[]>(() => {}),
        fetch: web.fetch,
      });
      const src = "http://img.example/a.png";
      await assertFails(slow.imageDataUrl(src, WHERE), {
        prefix: `${WHERE}: cannot fetch "${src}": no answer within 100 ms`,
      });
    });

    await t.step("bad limits are RangeErrors", () => {
      assert.throws(() => new AssetResolver(".", { maxBytes: 0 }), RangeError);
      assert.throws(
        () => new AssetResolver(".", { timeoutMs: -1 }),
        RangeError,
      );
    });
  },
);

// Other schemes and local files -------------------------------------------------

Deno.test(
  "AssetResolver.imageDataUrl() keeps file: URLs in any letter case and ../ paths inside the folder",
  SANITIZED,
  async (t) => {
    const root = await Deno.makeTempDir({ prefix: "pressrun_remote_test_" });
    try {
      const base = join(root, "template");
      await Deno.mkdir(join(base, "img"), { recursive: true });
      await Deno.writeFile(join(base, "img", "ok.png"), PNG);
      // What an escape would reach: a real PNG right outside the folder.
      await Deno.writeFile(join(root, "x.png"), PNG);
      for (const allowRemote of [false, true]) {
        const assets = new AssetResolver(base, { allowRemote });
        const outside: string[] = [
          "FILE:///etc/passwd",
          "File:///etc/passwd",
          "fIlE:/etc/passwd",
          "File:../x.png",
          "file:..%2Fx.png",
          "file:%2e%2e/x.png",
          "FILE:%2E%2E%2Fx.png",
          "file:img/%2e%2e/%2e%2e/x.png",
          "../x.png", // own-files: not a file to read
          "../../etc/passwd", // own-files: not a file to read
          "img/../../x.png",
          `file://${join(root, "x.png")}`,
        ];
        for (const src of outside) {
          await t.step(`allowRemote ${allowRemote}: ${src}`, async () => {
            await assertFails(assets.imageDataUrl(src, WHERE), {
              prefix: `${WHERE}: "${src}" is outside the template's folder`,
            });
          });
        }
        await t.step(`allowRemote ${allowRemote}: inside passes`, async () => {
          for (
            const src of ["img/ok.png", "FILE:img/ok.png", "File:img/%6Fk.png"]
          ) {
            assert.equal(await assets.imageDataUrl(src, WHERE), PNG_URL);
          }
        });
        const schemes: [string, RegExp][] = [
          ["blob:http://localhost/1234", /blob: URLs exist only inside a page/],
          ["BLOB:null/1234", /blob: URLs exist only inside a page/],
          ["ftp://img.example/a.png", /is not allowed: assets must be/],
          ["gopher://img.example/a.png", /is not allowed: assets must be/],
          ["javascript:alert(1)", /is not allowed: assets must be/],
        ];
        for (const [src, pattern] of schemes) {
          await t.step(`allowRemote ${allowRemote}: ${src}`, async () => {
            await assertFails(assets.imageDataUrl(src, WHERE), {
              prefix: `${WHERE}: "${src}" is not allowed: `,
              pattern,
            });
          });
        }
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);

// The real network path --------------------------------------------------------

Deno.test(
  "AssetResolver.imageDataUrl() with allowRemote and the real fetch never reaches a loopback server",
  SANITIZED,
  async (t) => {
    let requests = 0;
    await using server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () => {
        requests++;
        return png();
      },
    );
    const port = server.addr.port;

    await t.step("the server does answer a direct request", async () => {
      const response = await fetch(`http://127.0.0.1:${port}/x.png`);
      assert.deepEqual(new Uint8Array(await response.arrayBuffer()), PNG);
      assert.equal(requests, 1);
      requests = 0;
    });

    const assets = new AssetResolver("/nonexistent-pressrun-dir", {
      allowRemote: true,
    });
    const sources = [
      [`http://127.0.0.1:${port}/x.png`, "127.0.0.1 is a loopback address"],
      [`http://2130706433:${port}/x.png`, "127.0.0.1 is a loopback address"],
      [`http://[::ffff:127.0.0.1]:${port}/x.png`, "IPv4-mapped 127.0.0.1"],
      [`http://localhost:${port}/x.png`, "localhost is a loopback name"],
      [`https://127.0.0.1:${port}/x.png`, "127.0.0.1 is a loopback address"],
    ];
    for (const [src, reason] of sources) {
      await t.step(src!, async () => {
        await assertFails(assets.imageDataUrl(src!, WHERE), {
          prefix: `${WHERE}: "${src}" is refused: `,
          pattern: new RegExp(RegExp.escape(reason!)),
        });
      });
    }
    assert.equal(requests, 0);
  },
);

// addressRisk --------------------------------------------------------------------

Deno.test(
  "addressRisk() names non-public ranges and passes their public neighbours",
  SANITIZED,
  async (t) => {
    const cases: [string, string | undefined][] = [
      ["0.1.2.3", "a reserved address"],
      ["9.255.255.255", undefined],
      ["11.0.0.0", undefined],
      ["100.63.255.255", undefined],
      ["100.127.255.255", "a carrier-grade NAT address"],
      ["100.128.0.0", undefined],
      ["126.255.255.255", undefined],
      ["128.0.0.0", undefined],
      ["169.253.255.255", undefined],
      ["169.255.0.0", undefined],
      ["172.15.255.255", undefined],
      ["172.32.0.0", undefined],
      ["192.0.0.8", "a reserved address"],
      ["192.0.1.0", undefined],
      ["192.167.255.255", undefined],
      ["192.169.0.0", undefined],
      ["198.17.255.255", undefined],
      ["198.19.255.255", "a benchmarking address"],
      ["198.20.0.0", undefined],
      ["223.255.255.255", undefined],
      ["239.255.255.255", "a multicast address"],
      ["240.0.0.1", "a reserved address"],
      ["8.8.8.8", undefined],
      ["2606:4700:4700::1111", undefined],
      ["::ffff:8.8.8.8", undefined],
      ["::ffff:a00:1", "a private address (IPv4-mapped 10.0.0.1)"],
      ["::127.0.0.1", "a loopback address (IPv4-compatible 127.0.0.1)"],
      ["64:ff9b::8.8.8.8", undefined],
      ["2002:a9fe:a9fe::1", "a link-local address (6to4 169.254.169.254)"],
      ["fbff::1", undefined],
      ["fdff:ffff::1", "a unique-local address"],
      ["fc00::", "a unique-local address"],
      ["fe00::1", undefined],
      ["febf:ffff::1", "a link-local address"],
      ["fec0::1", "a site-local address"],
      ["ff02::1", "a multicast address"],
      ["0:0:0:0:0:0:0:1", "a loopback address"],
      ["1:2:3:4:5:6:7", "not an IP address"],
      ["1::2::3", "not an IP address"],
      ["1:2:3:4:5:6:7:8:9", "not an IP address"],
      ["::ffff:256.0.0.1", "not an IP address"],
      ["12345::", "not an IP address"],
    ];
    for (const [ip, expected] of cases) {
      await t.step(ip, () => assert.equal(addressRisk(ip), expected));
    }
  },
);
