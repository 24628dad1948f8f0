import { openProject, type Project } from "../store/open-project.js";

/** Runs `fn` with the project open, closing it afterwards. */
export async function withProject<T>(fn: (project: Project) => Promise<T> | T): Promise<T> {
  const project = openProject();
  try {
    return await fn(project);
  } finally {
    project.close();
  }
}
