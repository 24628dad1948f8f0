import dockerignore from "@balena/dockerignore";

// A CommonJS module whose typings declare `export default`: under NodeNext the default import is module.exports.
const ignore = (dockerignore as unknown as { default: typeof dockerignore.default }).default;

/**
 * Files and folders left out of every build context by default, in
 * .dockerignore syntax: they usually hold credentials (environment files,
 * registry and cloud tokens, private keys, SSH and GPG folders), and an
 * image, once pushed, is readable by everyone who can pull it. A `!` line in
 * the .dockerignore that names one brings it back (the build then warns).
 * Files inside `node_modules` are left as they are: they are the packages'
 * own, and some need theirs (CA bundles).
 */
export const secretExcludes: readonly string[] = [
  "**/.env",
  "**/.env.*",
  "**/.npmrc",
  "**/.yarnrc.yml",
  "**/.pypirc",
  "**/.netrc",
  "**/.git-credentials",
  "**/.pgpass",
  "**/.htpasswd",
  "**/.aws",
  "**/.azure",
  "**/.ssh",
  "**/.gnupg",
  "**/.kube",
  "**/*.pem",
  "**/*.key",
  "**/*.p12",
  "**/*.pfx",
  "**/id_rsa*",
  "**/id_dsa*",
  "**/id_ecdsa*",
  "**/id_ed25519*",
  "**/secrets.json",
  "**/secrets.yaml",
  "**/secrets.yml",
  "**/credentials.json",
];

/** A word naming a secret in a file name: `db-password.txt`, `prod.secrets.yaml`, `api_key`, `service-account.json`. */
const secretWord = /(^|[._-])(secrets?|credentials?|passwords?|passwd|tokens?|api[-_]?keys?|private[-_]?keys?|service[-_]?account)([._-]|$)/i;
/** Files that hold data rather than code (code named `secrets.ts` reads secrets; it does not hold them). */
const dataFile = /(^|\/)[^./]+$|\.(json|ya?ml|toml|ini|cfg|conf|env|txt|properties|xml|csv)$/i;
/** Key stores, variable files and VPN profiles, whatever their name. */
const keyStore = /\.(jks|keystore|kdbx|tfvars|ovpn|gpg)$/i;

/** What happened to a secret-looking file of the build context. */
export interface SecretFile {
  /** Posix path relative to the context root; a folder ends with `/`. */
  path: string;
  /**
   * `left-out`: matched {@link secretExcludes} and stays out;
   * `brought-back`: matched them, but a `!` line of the .dockerignore brings it back;
   * `suspect`: its name says it may hold a secret and nothing leaves it out.
   */
  verdict: "left-out" | "brought-back" | "suspect";
}

/** One line of a .dockerignore as a matcher of its own. */
interface IgnoreLine {
  negated: boolean;
  /** True when the line's last segment names something (`!.env`, `!*.pem`), not only wildcards (`!*`, `!**`). */
  names: boolean;
  matches(relPath: string): boolean;
}

/**
 * Decides, for the paths of a build context outside `node_modules`, which
 * secret-looking files stay out. Given the lines of the user's .dockerignore
 * (in order).
 */
export class SecretFilter {
  private readonly secret = ignore().add([...secretExcludes]);
  private readonly lines: IgnoreLine[];

  constructor(userPatterns: readonly string[]) {
    this.lines = userPatterns.map((line) => {
      const negated = line.startsWith("!");
      const pattern = negated ? line.slice(1) : line;
      const matcher = ignore().add([pattern]);
      const last = pattern.replace(/\/+$/, "").split("/").pop() ?? "";
      return { negated, names: /[^*?]/.test(last), matches: (p: string) => matcher.ignores(p) };
    });
  }

  /**
   * The secret folder or file a path is, or lies in (`.aws` for
   * `.aws/credentials`), per {@link secretExcludes}; undefined when none.
   */
  secretRoot(relPath: string): string | undefined {
    if (!this.secret.ignores(relPath)) return undefined;
    const parts = relPath.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join("/");
      if (this.secret.ignores(prefix)) return prefix;
    }
    return relPath;
  }

  /**
   * Whether the user's lines bring back a path that lies in the secret
   * `root`: the last line that decides is a `!` line naming the path, or a
   * folder between it and `root`. A `!` line for a folder above `root`
   * (`!packages/app`) or a bare wildcard (`!*`) does not: such a secret has to
   * be named.
   */
  broughtBack(relPath: string, root: string): boolean {
    const above = root.includes("/") ? root.slice(0, root.lastIndexOf("/")) : undefined;
    let back = false;
    for (const line of this.lines) {
      if (!line.matches(relPath)) continue;
      if (!line.negated) back = false;
      else if (line.names && (above === undefined || !line.matches(above))) back = true;
    }
    return back;
  }
}

/** Whether a file's name says it may hold a secret (a warning, not an exclude: see {@link secretExcludes} for those). */
export function looksLikeSecret(relPath: string): boolean {
  const name = relPath.slice(relPath.lastIndexOf("/") + 1);
  return keyStore.test(name) || (secretWord.test(name) && dataFile.test(name));
}
