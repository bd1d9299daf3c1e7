import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseIni, sourceOptionsFrom } from "../../src/cli/credentials.js";
import { UsageError } from "../../src/cli/errors.js";

describe("sourceOptionsFrom", () => {
  let home: string;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), "geochunks-home-"));
    mkdirSync(join(home, ".aws"));
    writeFileSync(
      join(home, ".aws", "credentials"),
      "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = default-secret\n\n" +
        "# temporary\n[work]\naws_access_key_id=ASIAWORK\naws_secret_access_key=work-secret\naws_session_token = work-token\n",
    );
    writeFileSync(
      join(home, ".aws", "config"),
      "[default]\nregion = us-west-2\n[profile work]\nregion = eu-central-1\nendpoint_url = http://127.0.0.1:9000\ns3 =\n  addressing_style = path\n",
    );
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it("prefers the environment's keys, then the profile files", () => {
    const env = {
      AWS_ACCESS_KEY_ID: "AKIAENV",
      AWS_SECRET_ACCESS_KEY: "env-secret",
      AWS_SESSION_TOKEN: "env-token",
    };
    expect(sourceOptionsFrom({}, env, home).s3).toEqual({
      region: "us-west-2",
      credentials: { accessKeyId: "AKIAENV", secretAccessKey: "env-secret", sessionToken: "env-token" },
    });
    expect(sourceOptionsFrom({}, {}, home).s3?.credentials).toEqual({
      accessKeyId: "AKIADEFAULT",
      secretAccessKey: "default-secret",
    });
    expect(sourceOptionsFrom({ profile: "work" }, env, home).s3).toEqual({
      region: "eu-central-1",
      endpoint: "http://127.0.0.1:9000",
      credentials: { accessKeyId: "ASIAWORK", secretAccessKey: "work-secret", sessionToken: "work-token" },
    });
    expect(sourceOptionsFrom({}, { AWS_PROFILE: "work", AWS_REGION: "us-east-1" }, home).s3?.region).toBe(
      "us-east-1",
    );
    expect(
      sourceOptionsFrom({ region: "ap-south-1", endpoint: "http://x:1" }, { AWS_REGION: "us-east-1" }, home)
        .s3,
    ).toMatchObject({ region: "ap-south-1", endpoint: "http://x:1" });
  });

  it("bounds requests in flight over the whole run", () => {
    expect(sourceOptionsFrom({}, {}, home).maxRequests).toBe(32);
    expect(sourceOptionsFrom({ "max-requests": "4" }, {}, home).maxRequests).toBe(4);
    expect(() => sourceOptionsFrom({ "max-requests": "0" }, {}, home)).toThrow(/--max-requests 0/);
  });

  it("goes anonymous on request or when nothing is found", () => {
    expect(sourceOptionsFrom({ anonymous: true }, {}, home).s3?.credentials).toBeUndefined();
    expect(sourceOptionsFrom({}, { AWS_NO_SIGN_REQUEST: "true" }, home).s3?.credentials).toBeUndefined();
    expect(sourceOptionsFrom({}, {}, join(home, "nowhere")).s3).toEqual({});
  });

  it("reads the bearer token from EARTHDATA_TOKEN or the variable --token-env names", () => {
    expect(sourceOptionsFrom({}, { EARTHDATA_TOKEN: "tok" }, home).bearer).toEqual({ token: "tok" });
    expect(
      sourceOptionsFrom(
        { "token-env": "MY_TOKEN", "token-hosts": "localhost, *.example.org" },
        { MY_TOKEN: "t2" },
        home,
      ).bearer,
    ).toEqual({
      token: "t2",
      hosts: ["localhost", "*.example.org"],
    });
    expect(sourceOptionsFrom({}, {}, home).bearer).toBeUndefined();
  });

  it("refuses a missing profile, a missing token variable and half credentials, without printing values", () => {
    const refusal = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(UsageError);
        return (err as Error).message;
      }
      throw new Error("no error");
    };
    expect(refusal(() => sourceOptionsFrom({ profile: "nope" }, {}, home))).toMatch(
      /AWS profile nope is not in/,
    );
    expect(refusal(() => sourceOptionsFrom({ "token-env": "UNSET_VAR" }, {}, home))).toMatch(
      /UNSET_VAR: the variable is not set/,
    );
    const half = refusal(() =>
      sourceOptionsFrom(
        {},
        { AWS_ACCESS_KEY_ID: "AKIAHALF", AWS_SECRET_ACCESS_KEY: "", AWS_SESSION_TOKEN: "x" },
        join(home, "nowhere"),
      ),
    );
    expect(half).toMatch(/incomplete AWS credentials in the environment/);
    expect(half).not.toContain("AKIAHALF");
    expect(refusal(() => sourceOptionsFrom({ anonymous: true, profile: "work" }, {}, home))).toMatch(
      /exclude/,
    );
  });

  it("parses INI sections, comments and nested blocks", () => {
    expect(parseIni("; c\n[a]\nk = v = w\n  nested = 1\n[profile b]\nx=1\n")).toEqual(
      new Map([
        ["a", { k: "v = w" }],
        ["profile b", { x: "1" }],
      ]),
    );
  });
});
