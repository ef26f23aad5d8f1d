//! HTML rendered to text. (Stub: owned by the rendering helper.)
