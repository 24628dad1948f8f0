import { z } from "zod";
import { StackComponent } from "../component/stack-component.js";

/** Config every container registry has. */
export const baseContainerRegistryConfigSchema = z.object({
  /** Registry address, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com` or `127.0.0.1:5001`. */
  uri: z.string().min(1),
});

/** Credentials for `docker push`, in the shape the Docker engine API takes. */
export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

/**
 * Base class of container registries: where images built for remote or
 * containerised orchestrators are pushed.
 */
export abstract class BaseContainerRegistry<C extends { uri: string } = { uri: string }> extends StackComponent<C> {
  readonly type = "container_registry" as const;

  /** The registry address without scheme or trailing slash. */
  get uri(): string {
    return this.config.uri.replace(/^[a-z]+:\/\//, "").replace(/\/+$/, "");
  }

  /** Full image name for a repository and tag in this registry. */
  imageName(repository: string, tag: string): string {
    return `${this.uri}/${repository}:${tag}`;
  }

  /** Push credentials, or undefined when the registry needs none. */
  abstract credentials(): Promise<RegistryAuth | undefined>;

  /** Makes sure `repository` exists before a push (ECR creates it on demand). */
  async prepareRepository(_repository: string): Promise<void> {}
}
