/**
 * Source options from the command line and the environment: AWS credentials (environment variables,
 * then the shared credentials and config files), region and endpoint, and an Earthdata Login token.
 * Only the CLI reads these; the library takes them as options. Nothing here prints a value.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { AwsCredentials, SourceOptions } from "../source/index.js";
import { UsageError } from "./errors.js";
import type { OptionSpec } from "./program.js";
import { warnOncePerHost } from "./warnings.js";

/** Values of {@link SOURCE_OPTIONS} as parsed. */
export interface SourceFlags {
  region?: string;
  endpoint?: string;
  profile?: string;
  anonymous?: boolean;
  "token-env"?: string;
  "token-hosts"?: string;
  "max-requests"?: string;
}

/**
 * Default bound on requests in flight over a whole run: the executor's default (4 granules at once, 8
 * range requests each), so the bound changes nothing until thousands of granules would otherwise pile
 * up sockets behind retries and slow servers.
 */
export const DEFAULT_MAX_REQUESTS = 32;

/** Environment variable holding the Earthdata Login token unless `--token-env` names another. */
export const DEFAULT_TOKEN_ENV = "EARTHDATA_TOKEN";

/** The options of commands that open granules or stores: S3, HTTP tokens and request bounds. */
export const SOURCE_OPTIONS: readonly OptionSpec[] = [
  {
    flags: "--region <region>",
    meaning: "S3 region",
    default: "AWS_REGION, AWS_DEFAULT_REGION or the profile's region",
    example: "--region us-west-2",
  },
  {
    flags: "--endpoint <url>",
    meaning: "S3-compatible endpoint",
    default: "AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or the profile's endpoint_url, else AWS",
    example: "--endpoint http://127.0.0.1:9000",
  },
  {
    flags: "--profile <name>",
    meaning: "AWS profile of ~/.aws/credentials and ~/.aws/config",
    default: "the AWS_* keys, else AWS_PROFILE or default",
    example: "--profile work",
  },
  {
    flags: "--anonymous",
    meaning: "unsigned S3 requests (public buckets)",
    default: "signed when credentials are found",
    example: "--anonymous",
  },
  {
    flags: "--token-env <var>",
    meaning: "environment variable holding a bearer token for HTTPS sources (Earthdata Login)",
    default: DEFAULT_TOKEN_ENV,
    example: "--token-env EDL_TOKEN",
  },
  {
    flags: "--token-hosts <hosts>",
    meaning: "hosts the bearer token is sent to (comma-separated, * wildcards)",
    default: "NASA Earthdata hosts",
    example: "--token-hosts data.example.org,*.example.org",
  },
  {
    flags: "--max-requests <n>",
    meaning: "bound on requests in flight over the whole run (1..4096)",
    default: String(DEFAULT_MAX_REQUESTS),
    example: "--max-requests 64",
  },
];

/** Source flags from commander's (camel-cased) option values. */
export function sourceFlagsOf(opts: Record<string, unknown>): SourceFlags {
  const str = (v: unknown) => (v === undefined ? undefined : String(v));
  return {
    region: str(opts.region),
    endpoint: str(opts.endpoint),
    profile: str(opts.profile),
    anonymous: opts.anonymous === true,
    "token-env": str(opts.tokenEnv),
    "token-hosts": str(opts.tokenHosts),
    "max-requests": str(opts.maxRequests),
  };
}

/**
 * Builds source options. S3 credentials come from `--profile`, else `AWS_ACCESS_KEY_ID` /
 * `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, else the profile `AWS_PROFILE` (or `default`) of
 * `AWS_SHARED_CREDENTIALS_FILE` (~/.aws/credentials) and `AWS_CONFIG_FILE` (~/.aws/config); with none
 * found, or with `--anonymous` or `AWS_NO_SIGN_REQUEST=true`, S3 requests are unsigned. Region:
 * `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`. Endpoint: `--endpoint`,
 * `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, the profile's `endpoint_url`. A bearer token for HTTPS
 * sources comes from the variable named by `--token-env` (default {@link DEFAULT_TOKEN_ENV}).
 * @throws UsageError for a named profile or token variable that does not exist, or an unreadable file.
 */
export function sourceOptionsFrom(
  flags: SourceFlags,
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): SourceOptions {
  if (flags.anonymous && flags.profile) throw new UsageError("--anonymous and --profile exclude each other");
  const name = flags.profile ?? env.AWS_PROFILE ?? "default";
  const profile = readProfile(name, env, home, flags.profile !== undefined || env.AWS_PROFILE !== undefined);
  const anonymous = flags.anonymous || /^true$/i.test(env.AWS_NO_SIGN_REQUEST ?? "");
  const credentials = anonymous ? undefined : credentialsOf(flags, env, profile, name);
  const region = flags.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? profile.region;
  const endpoint = flags.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL ?? profile.endpoint_url;
  const maxRequests = Number(flags["max-requests"] ?? DEFAULT_MAX_REQUESTS);
  if (!Number.isInteger(maxRequests) || maxRequests < 1 || maxRequests > 4096) {
    throw new UsageError(`--max-requests ${flags["max-requests"]} is not an integer in 1..4096`);
  }
  const options: SourceOptions = {
    maxRequests,
    s3: {
      ...(region ? { region } : {}),
      ...(endpoint ? { endpoint } : {}),
      ...(credentials ? { credentials } : {}),
    },
  };
  const tokenEnv = flags["token-env"] ?? DEFAULT_TOKEN_ENV;
  const token = env[tokenEnv];
  if (flags["token-env"] !== undefined && !token)
    throw new UsageError(`--token-env ${tokenEnv}: the variable is not set`);
  if (token) {
    const hosts = flags["token-hosts"]
      ?.split(",")
      .map((h) => h.trim())
      .filter(Boolean);
    options.bearer = { token, ...(hosts ? { hosts } : {}) };
  }
  return options;
}

function credentialsOf(
  flags: SourceFlags,
  env: NodeJS.ProcessEnv,
  profile: Record<string, string>,
  name: string,
): AwsCredentials | undefined {
  // One of the two set alone is a mistake to report, not a reason to fall back to a profile.
  const fromEnv = flags.profile === undefined && (env.AWS_ACCESS_KEY_ID || env.AWS_SECRET_ACCESS_KEY);
  const source = fromEnv
    ? { id: env.AWS_ACCESS_KEY_ID, secret: env.AWS_SECRET_ACCESS_KEY, token: env.AWS_SESSION_TOKEN }
    : {
        id: profile.aws_access_key_id,
        secret: profile.aws_secret_access_key,
        token: profile.aws_session_token,
      };
  if (!source.id && !source.secret) return undefined;
  if (!source.id || !source.secret) {
    const where = fromEnv ? "the environment" : `profile ${name}`;
    throw new UsageError(
      `incomplete AWS credentials in ${where}: need both an access key id and a secret key`,
    );
  }
  return {
    accessKeyId: source.id,
    secretAccessKey: source.secret,
    ...(source.token ? { sessionToken: source.token } : {}),
  };
}

/** A profile's keys, from the credentials file (`[name]`) over the config file (`[profile name]`). */
function readProfile(
  name: string,
  env: NodeJS.ProcessEnv,
  home: string,
  required: boolean,
): Record<string, string> {
  const credentialsFile = env.AWS_SHARED_CREDENTIALS_FILE ?? join(home, ".aws", "credentials");
  const configFile = env.AWS_CONFIG_FILE ?? join(home, ".aws", "config");
  const config = parseIni(readOptional(configFile));
  const credentials = parseIni(readOptional(credentialsFile));
  const fromConfig = config.get(name === "default" ? "default" : `profile ${name}`) ?? config.get(name);
  const fromCredentials = credentials.get(name);
  if (required && !fromConfig && !fromCredentials) {
    throw new UsageError(`AWS profile ${name} is not in ${credentialsFile} or ${configFile}`);
  }
  return { ...fromConfig, ...fromCredentials };
}

function readOptional(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? "error"}`, {
      cause: err,
    });
  }
}

/** Sections of an INI file (`[name]` then `key = value` lines; `#` and `;` start comments). */
export function parseIni(text: string): Map<string, Record<string, string>> {
  const sections = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (header) {
      current = {};
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf("=");
    // Indented lines continue a nested block (e.g. `s3 =` settings), which none of our keys use.
    if (current && eq > 0 && !/^\s/.test(raw))
      current[line.slice(0, eq).trim().toLowerCase()] = line.slice(eq + 1).trim();
  }
  return sections;
}

/**
 * `options` with source warnings (a server that ignores Range requests) printed through `io.err`,
 * once per server for the whole run.
 */
export function withWarnings(options: SourceOptions, io: { err(text: string): void }): SourceOptions {
  return { ...options, http: { ...options.http, onWarning: warnOncePerHost((line) => io.err(line)) } };
}
